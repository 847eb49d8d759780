#!/usr/bin/env bash
# Checks `deno compile` as far as it can go without the Deno runtime (denort), which deno
# downloads from the internet: DENORT_BIN points it at a stand-in executable (a copy of `true`)
# and the real compile flags of scripts/release.ts do everything else: resolve the module graph,
# type-check, take the npm packages from deno.lock (--frozen), embed the files, and write the
# binary. The result runs the stand-in, not s3backup: the runnable binary is built by the release
# workflow (.github/workflows/release.yml), which can download denort.
#
#   bash scripts/compile_check.sh        (deno task compile-check)
set -Eeuo pipefail
trap 'echo "compile_check: FAILED (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
# deno: on PATH (.ci/run puts it there), or else from the npm registry.
if ! command -v deno >/dev/null 2>&1; then deno() { npx --yes "deno@${DENO_VERSION:-2.9.6}" "$@"; }; fi
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
standin="$work/denort-standin"
cp "$(type -P true)" "$standin"
chmod +x "$standin"

echo "== deno compile with DENORT_BIN=$standin (a copy of $(type -P true))"
# Output goes to the log as it comes (tee), so a failure shows its own message.
set +e
NO_COLOR=1 DENORT_BIN="$standin" deno run --allow-all scripts/release.ts --host --out "$work/dist" \
  2>&1 | tee "$work/out.txt"
code=${PIPESTATUS[0]}
set -e

fail() { echo "compile_check: FAILED: $*" >&2; exit 1; }
[ "$code" -eq 0 ] || fail "scripts/release.ts --host exited $code"
bin="$work/dist/s3backup"
[ -f "$bin" ] || fail "no binary at $bin"
grep -q "Embedded Files" "$work/out.txt" || fail "deno compile printed no 'Embedded Files' tree"
# infra/policy.ts: only imported by `policy`'s action (import()), so the graph's dynamic imports
# are embedded too.
for want in "main.ts" "lib (" "infra/policy.ts" "client-s3/" "client-sns/" "credential-provider-node/" \
  "credential-provider-sso/" "credential-provider-ini/" "smol-toml/" "commander/" "picomatch/"; do
  grep -qF -- "$want" "$work/out.txt" || fail "'$want' is not embedded"
done
# Test-only packages must stay out of the binary (--exclude-unused-npm).
for unwanted in "fauxqs/" "fastify/" "client-sqs/"; do
  if grep -qF -- "$unwanted" "$work/out.txt"; then fail "'$unwanted' was embedded"; fi
done
# The V8 flags of scripts/release.ts are in the binary's metadata (deno compile --v8-flags).
for flag in $(deno run --allow-all scripts/release.ts --print-flags | sed -n 's/^--v8-flags=//p' | tr ',' ' '); do
  grep -aqF -- "\"$flag\"" "$bin" || fail "the binary's V8 flags lack $flag"
done
standin_size=$(wc -c <"$standin")
size=$(wc -c <"$bin")
[ "$size" -gt $((standin_size + 5000000)) ] || fail "binary is only $size bytes"
if [ -f lib/core/build_info.ts ] && git rev-parse --git-dir >/dev/null 2>&1; then
  # The commit stamped into lib/core/build_info.ts is in the embedded code, and the file is back.
  commit=$(git rev-parse --short=12 HEAD)
  grep -aqF "COMMIT = \"$commit" "$bin" || fail "the binary does not embed COMMIT = \"$commit\""
  git diff --quiet -- lib/core/build_info.ts || fail "lib/core/build_info.ts was left stamped"
fi
echo "compile_check: OK: payload of $(( (size - standin_size) / 1000000 )) MB embedded into the stand-in ($size bytes in all)"
