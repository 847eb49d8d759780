-- prod_db_backup.sql: a small example dump
BEGIN;
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);
INSERT INTO customers VALUES (1, 'Acme Corp', 'ops@acme.example');
INSERT INTO customers VALUES (2, 'Globex', 'it@globex.example');
COMMIT;
