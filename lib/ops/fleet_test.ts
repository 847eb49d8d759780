import assert from "node:assert/strict";
import { formatFleet, groupFleet } from "./fleet.ts";

Deno.test("groupFleet: newest manifest per host; expected hosts without one first, then oldest", () => {
  const t = (iso: string) => new Date(iso);
  const hosts = groupFleet([
    { host: "web1", bucket: "b-docs", lastModified: t("2026-02-12T02:00:00Z") },
    { host: "web1", bucket: "b-db", lastModified: t("2026-02-12T02:05:00Z") },
    { host: "db1", bucket: "b-db", lastModified: t("2026-02-09T02:00:00Z") },
    { host: "", bucket: "b-docs", lastModified: t("2026-02-10T02:00:00Z") },
  ], ["web1", "db1", "mail1"]);
  assert.deepEqual(
    hosts.map((h) => [h.host, h.last?.toISOString(), h.expected, h.buckets.map((b) => b.bucket)]),
    [
      ["mail1", undefined, true, []],
      ["db1", "2026-02-09T02:00:00.000Z", true, ["b-db"]],
      ["", "2026-02-10T02:00:00.000Z", false, ["b-docs"]],
      ["web1", "2026-02-12T02:05:00.000Z", true, ["b-db", "b-docs"]],
    ],
  );
  const text = formatFleet({ hosts, failures: [] }, t("2026-02-12T03:05:00Z"));
  assert.equal(
    text,
    [
      "HOST             LAST RUN MANIFEST     AGE",
      "mail1            never                 no run manifest found (listed in [infra] hosts)",
      "db1              2026-02-09T02:00:00Z  3d 1h ago",
      "(no key_prefix)  2026-02-10T02:00:00Z  2d 1h ago",
      "web1             2026-02-12T02:05:00Z  1h 0m ago",
      "",
    ].join("\n"),
  );
  assert.equal(formatFleet({ hosts: [], failures: [] }, new Date()), "No run manifest found.\n");
});
