#!/usr/bin/env bash
# The documented cron route (docs/operations.md, "cron"), step by step, on a throwaway root: run as root inside a private
# mount namespace (unshare --mount --propagation private), where /etc is a copy and /var/lib,
# /var/log, /srv and /usr/local/bin are empty tmpfs, so the real machine is not touched. No
# systemd and no cron daemon are needed: the cron line is read from /etc/cron.d/s3backup and
# run once as cron would run it (its user, its variables, /bin/sh -c).
#
#   unshare --mount --propagation private bash tests/setup/cron_route.sh WORK
#
# WORK: an empty folder (mode 0755) this script may fill; removed by the caller after the
# namespace is gone. Environment: DENO_BIN (the deno executable), DENO_DIR (its cache, with
# this checkout's packages), S3_ENDPOINT (an S3 server with the buckets acme-backup-*),
# TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY (what the server accepts).
set -Eeuo pipefail
trap 'echo "cron_route.sh: FAILED at line $LINENO: $BASH_COMMAND" >&2' ERR
work=${1:?usage: cron_route.sh WORK}
repo=$(cd "$(dirname "$0")/../.." && pwd)
: "${DENO_BIN:?}" "${DENO_DIR:?}" "${S3_ENDPOINT:?}" "${TEST_ACCESS_KEY_ID:?}" "${TEST_SECRET_ACCESS_KEY:?}"
[ "$(id -u)" = 0 ] || { echo "cron_route.sh: must run as root" >&2; exit 2; }

# --- The throwaway root -------------------------------------------------------------------
mount --make-rprivate / # never let a mount below leak out (unshare did it too)
cp -a /etc "$work/etc"
mount --bind "$work/etc" /etc
for d in /var/lib /var/log /srv /usr/local/bin; do mount -t tmpfs -o mode=0755 tmpfs "$d"; done
mkdir -p /etc/cron.d /etc/logrotate.d # a machine with cron and logrotate installed

# The program, read-only, where the s3backup user can reach it (the checkout and the deno cache
# may sit under folders only root can enter): a stand-in for the release binary.
mkdir "$work/src" "$work/deno-dir"
touch "$work/deno"
mount --bind "$repo" "$work/src" && mount -o remount,bind,ro "$work/src"
mount --bind "$DENO_DIR" "$work/deno-dir" && mount -o remount,bind,ro "$work/deno-dir"
mount --bind "$DENO_BIN" "$work/deno"
cat >"$work/s3backup-linux-x64" <<WRAPPER
#!/bin/sh
DENO_DIR=$work/deno-dir exec $work/deno run --allow-all --no-prompt --quiet --cached-only \\
  --config $work/src/deno.json $work/src/main.ts "\$@"
WRAPPER

# The data to back up: private to its owner group, as real data often is.
groupadd --system websrc
mkdir -p /srv/data/reports
echo "quarterly figures" >/srv/data/reports/q1.txt
echo "notes" >/srv/data/notes.txt
echo "CREATE TABLE t;" >/srv/data/app.sql
chgrp -R websrc /srv/data
chmod -R u=rwX,g=rX,o= /srv/data
printf '[backup]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
  "$TEST_ACCESS_KEY_ID" "$TEST_SECRET_ACCESS_KEY" >"$work/credentials"
ln -s "$work/src/deploy" "$work/deploy"
cd "$work" # the documented relative paths: deploy/ of the checkout, the credentials file written

# --- documented steps (docs/operations.md, "cron"; each line must appear there with sudo) ---
install -m 0755 s3backup-linux-x64 /usr/local/bin/s3backup
useradd --system --home-dir /var/lib/s3backup --shell /usr/sbin/nologin s3backup
install -d -m 0700 -o s3backup -g s3backup /var/lib/s3backup
install -d -m 0750 -g s3backup /etc/s3backup
s3backup init -c /etc/s3backup/s3backup.toml --bucket-prefix acme-backup --source /srv/data
sed -i "s|^\[aws\]|[aws]\nprofile = \"backup\"\nendpoint = \"$S3_ENDPOINT\"|" /etc/s3backup/s3backup.toml # test-only: the edit
chgrp s3backup /etc/s3backup/s3backup.toml && chmod 0640 /etc/s3backup/s3backup.toml
usermod -aG websrc s3backup
install -d -m 0700 -o s3backup -g s3backup /var/lib/s3backup/.aws
install -m 0600 -o s3backup -g s3backup credentials /var/lib/s3backup/.aws/credentials
install -m 0644 deploy/s3backup.cron /etc/cron.d/s3backup
install -o s3backup -g adm -m 0640 /dev/null /var/log/s3backup.log
install -m 0644 deploy/s3backup.logrotate /etc/logrotate.d/s3backup
# --- end of documented steps ----------------------------------------------------------------

# --- Checks ---------------------------------------------------------------------------------
grep -qx 'state_dir = "/var/lib/s3backup"' /etc/s3backup/s3backup.toml ||
  { echo "init did not choose /var/lib/s3backup for a config under /etc" >&2; exit 1; }

# The cron line, run once as cron runs it: as its user, with the file's variables, HOME and
# LOGNAME from the user, through /bin/sh -c. Whatever the line is (it may change), it must work.
vars=(HOME=/var/lib/s3backup LOGNAME=s3backup USER=s3backup SHELL=/bin/sh PATH=/usr/bin:/bin)
job=""
while IFS= read -r line; do
  case "$line" in '#'* | '') continue ;; esac
  if [[ "$line" =~ ^[[:space:]]*([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*=[[:space:]]*(.*)$ ]]; then
    value=${BASH_REMATCH[2]}
    value=${value#[\"\']} && value=${value%[\"\']}
    vars+=("${BASH_REMATCH[1]}=$value")
  elif [ -z "$job" ]; then
    job=$line
  fi
done </etc/cron.d/s3backup
read -r _min _hour _dom _mon _dow cron_user cron_cmd <<<"$job"
[ "$cron_user" = s3backup ] || { echo "the cron line runs as '$cron_user', not s3backup" >&2; exit 1; }
echo "cron command: $cron_cmd"
code=0
env -i "${vars[@]}" setpriv --reuid=s3backup --regid=s3backup --init-groups /bin/sh -c "$cron_cmd" ||
  code=$?
echo "cron command exit: $code"
echo "--- /var/log/s3backup.log"
cat /var/log/s3backup.log
echo "---"
[ "$code" = 0 ] || exit 1
grep -q '^Files uploaded: 3$' /var/log/s3backup.log

as_user() { env -i HOME=/var/lib/s3backup PATH=/usr/local/bin:/usr/bin:/bin \
  S3BACKUP_CONFIG=/etc/s3backup/s3backup.toml \
  setpriv --reuid=s3backup --regid=s3backup --init-groups "$@"; }
as_user s3backup status
as_user s3backup history
stat -c '%U %a %n' /var/lib/s3backup /var/lib/s3backup/state.db
[ "$(stat -c %U:%a /var/lib/s3backup/state.db)" = s3backup:600 ]
[ ! -e /etc/s3backup/.s3backup ] || { echo "state written beside the config" >&2; exit 1; }
echo "cron_route.sh: OK"
