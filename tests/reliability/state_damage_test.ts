/**
 * The local state under damage, through the CLI against fauxqs (issue 13, item 4): a state.db
 * with damaged pages, and a state_dir on a disk that fills up (a real 1 MiB tmpfs). A run must
 * finish, count what it uploaded, say what happened, and leave the next run able to recover.
 */
import assert from "node:assert/strict";
import { configText } from "../support/config.ts";
import { startLocalAws } from "../support/local_aws.ts";
import { runCli } from "../support/cli.ts";
import { checkpoint, leafPages, rootPage, smashCells } from "../support/sqlite_pages.ts";
import { CAN_MOUNT_TMPFS, mountTmpfs, resizeTmpfs, unmountTmpfs } from "../support/tmpfs.ts";
import { BUCKETS, readState, sleep, testOpts } from "./helpers.ts";
import { RACY_WINDOW_MS } from "../../lib/backup/change.ts";

interface Report {
  status: string;
  uploaded: number;
  skipped: number;
  errors: number;
  hashed: number;
  requests: Record<string, number>;
  failures: Array<{ path: string; error: string }>;
  state_rebuilt?: boolean;
  warnings?: string[];
  fatal?: string;
}

/**
 * A tree of `count` .txt files (all in one bucket), their mtimes an hour old. Their ctime is
 * now: wait RACY_WINDOW_MS before a run records them, or the next run hashes them (racily clean).
 */
function writeTree(src: string, count: number, from = 0, version = "v1"): void {
  const old = new Date(Date.now() - 3600_000);
  for (let i = from; i < from + count; i++) {
    const dir = `${src}/d${i % 10}`;
    Deno.mkdirSync(dir, { recursive: true });
    const path = `${dir}/file-${String(i).padStart(5, "0")}.txt`;
    Deno.writeTextFileSync(path, `${version} content of file ${i}`);
    Deno.utimeSync(path, old, old);
  }
}

async function withRig(
  fn: (rig: {
    src: string;
    state: string;
    run(): Promise<{ code: number; json: Report; stderr: string }>;
  }) => Promise<void>,
  beforeRuns?: (state: string) => void,
): Promise<void> {
  const aws = await startLocalAws(Object.values(BUCKETS));
  const dir = Deno.makeTempDirSync({ prefix: "s3backup-state-damage-" });
  const src = `${dir}/src`;
  const state = `${dir}/state`;
  Deno.mkdirSync(src);
  Deno.mkdirSync(state);
  const cfg = `${dir}/s3backup.toml`;
  Deno.writeTextFileSync(
    cfg,
    configText({
      source: src,
      stateDir: state,
      endpoint: aws.endpoint,
      // A topic: else every run would warn that nobody hears of a failure (its own warning).
      topicArn: aws.topicArn,
      buckets: BUCKETS,
      concurrency: 8,
    }),
  );
  try {
    beforeRuns?.(state);
    await fn({
      src,
      state,
      async run() {
        const r = await runCli(["run", "-c", cfg, "--json"], { env: aws.env });
        try {
          return { code: r.code, json: JSON.parse(r.stdout), stderr: r.stderr };
        } catch {
          throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr.slice(-3000)}`);
        }
      },
    });
  } finally {
    if (beforeRuns) unmountTmpfs(state);
    await aws.stop();
    Deno.removeSync(dir, { recursive: true });
  }
}

function asides(state: string): string[] {
  return [...Deno.readDirSync(state)].map((e) => e.name).filter((n) =>
    /^state\.db\.corrupt-\d+$/.test(n)
  );
}

/** The warnings about the local state (fauxqs adds one about versioning, which it ignores). */
const stateWarnings = (json: { warnings?: string[] }) =>
  (json.warnings ?? []).filter((w) => w.startsWith("Local state"));

Deno.test(
  "state damage: a state.db with a damaged page found while planning is moved aside and rebuilt",
  testOpts,
  () =>
    withRig(async ({ src, state, run }) => {
      writeTree(src, 3000);
      await sleep(RACY_WINDOW_MS + 100);
      const first = await run();
      assert.equal(first.code, 0, first.stderr.slice(-2000));
      assert.equal(first.json.uploaded, 3000);

      // A leaf in the middle of the files table: rows of the first 1,000 files (the first
      // prefetch) read fine, the second prefetch meets the damage.
      const db = `${state}/state.db`;
      checkpoint(db);
      const leaves = leafPages(db, rootPage(db, "files"));
      smashCells(db, leaves[Math.floor(leaves.length / 2)]);
      // Files sort by folder (d0/ first): d0/ is planned before the damage, d9/ after it.
      writeTree(src, 1, 10, "v2"); // changed, d0/: hashed and compared with its row
      writeTree(src, 1, 2509, "v2"); // changed, d9/: hashed and compared with the object (HEAD)
      writeTree(src, 3, 3000); // new

      const second = await run();
      assert.equal(second.code, 0, `${JSON.stringify(second.json)}\n${second.stderr.slice(-2000)}`);
      assert.equal(second.json.status, "OK");
      assert.equal(second.json.uploaded, 5, "the 2 changed and 3 new files, nothing else");
      assert.equal(second.json.skipped, 2998);
      assert.equal(second.json.errors, 0);
      assert.equal(second.json.state_rebuilt, true);
      const warned = stateWarnings(second.json);
      assert.equal(warned.length, 1);
      assert.match(warned[0], /damaged \(database disk image is malformed\)/);
      assert.match(warned[0], /moved to .*state\.db\.corrupt-\d+/);
      assert.match(second.stderr, / - WARNING - Local state .* was damaged/);
      // Planning went on past the damage: files without a record were hashed and checked.
      assert.ok(second.json.hashed >= 2000 && second.json.hashed < 3005, `${second.json.hashed}`);
      assert.equal(second.json.requests.HeadObject, second.json.hashed - 1);
      assert.equal(asides(state).length, 1);

      // The files written just before the second run are racily clean until recorded 2 s after
      // their mtime: without this wait the third run could record some of them too early still.
      await sleep(RACY_WINDOW_MS + 100);
      const third = await run();
      assert.equal(third.code, 0, third.stderr.slice(-2000));
      assert.equal(third.json.uploaded, 0);
      assert.equal(third.json.errors, 0);
      assert.equal(third.json.state_rebuilt, false);
      assert.deepEqual(stateWarnings(third.json), []);
      const fourth = await run();
      assert.equal(fourth.json.hashed, 0, "all on the fast path again");
      assert.equal(fourth.json.requests.HeadObject, undefined);
      assert.equal(readState(state).length, 3003);
    }),
);

Deno.test(
  "state damage: damage found at the end of a run (manifests, run history) keeps its uploads",
  testOpts,
  () =>
    withRig(async ({ src, state, run }) => {
      writeTree(src, 50);
      assert.equal((await run()).json.uploaded, 50);
      const db = `${state}/state.db`;
      checkpoint(db);
      smashCells(db, rootPage(db, "meta"));
      smashCells(db, rootPage(db, "runs"));
      writeTree(src, 2, 50);

      const second = await run();
      assert.equal(second.code, 0, `${JSON.stringify(second.json)}\n${second.stderr.slice(-2000)}`);
      assert.equal(second.json.uploaded, 2);
      assert.equal(second.json.skipped, 50);
      assert.equal(second.json.errors, 0);
      assert.equal(second.json.fatal, undefined);
      assert.equal(second.json.state_rebuilt, true);
      assert.equal(asides(state).length, 1);

      // The files written just before the second run are racily clean until recorded 2 s after
      // their mtime: without this wait the third run could record some of them too early still.
      await sleep(RACY_WINDOW_MS + 100);
      const third = await run();
      assert.equal(third.code, 0, third.stderr.slice(-2000));
      assert.equal(third.json.uploaded, 0, "verified by hash and HEAD, not uploaded again");
      assert.equal(third.json.errors, 0);
      assert.equal(third.json.state_rebuilt, false);
    }),
);

const FILES = 6000;

Deno.test(
  {
    name: "state damage: a full disk under state_dir (1 MiB tmpfs, 6,000 files) is reported, " +
      "uploads are counted, and the next run recovers",
    ignore: !CAN_MOUNT_TMPFS,
    ...testOpts,
  },
  () =>
    withRig(async ({ src, state, run }) => {
      writeTree(src, FILES);
      await sleep(RACY_WINDOW_MS + 100);
      const cause = new RegExp(
        `could not save the local state: no space left on device in ${state}`,
      );

      const first = await run();
      assert.equal(first.code, 1, first.stderr.slice(-2000));
      assert.equal(first.json.fatal, undefined);
      assert.equal(first.json.uploaded, FILES, "every PUT that succeeded is counted");
      assert.equal(first.json.requests.PutObject, FILES + 3); // + the three manifests
      assert.equal(first.json.errors, 1);
      assert.equal(first.json.failures[0].path, `${state}/state.db`);
      assert.match(first.json.failures[0].error, cause);
      assert.match(
        first.json.failures[0].error,
        /the next run verifies them again \(hash, and HEAD where no record is left\)/,
      );
      assert.doesNotMatch(first.stderr, /cannot rollback/);
      assert.match(first.stderr, / - ERROR - .*no space left on device/);

      // Still full: the run backs up (nothing to upload) and says the same, not a crash.
      const second = await run();
      assert.equal(second.code, 1, second.stderr.slice(-2000));
      assert.equal(second.json.fatal, undefined);
      assert.equal(second.json.uploaded, 0);
      assert.equal(second.json.skipped, FILES);
      assert.equal(second.json.errors, 1);
      assert.match(second.json.failures[0].error, cause);

      // Room again: the rows that were lost are rebuilt by hash and HEAD, nothing re-uploaded.
      resizeTmpfs(state, "64m");
      const third = await run();
      assert.equal(third.code, 0, `${JSON.stringify(third.json)}\n${third.stderr.slice(-2000)}`);
      assert.equal(third.json.uploaded, 0);
      assert.equal(third.json.skipped, FILES);
      assert.equal(third.json.errors, 0);
      assert.ok(third.json.hashed > 0, "some rows had been lost");
      assert.equal(third.json.requests.HeadObject, third.json.hashed);
      const fourth = await run();
      assert.equal(fourth.code, 0);
      assert.equal(fourth.json.hashed, 0);
      assert.equal(fourth.json.requests.HeadObject, undefined);
      assert.equal(readState(state).length, FILES);
    }, (state) => mountTmpfs(state, "1m")),
);
if (!CAN_MOUNT_TMPFS) console.warn("SKIPPED: the full-disk CLI test needs to mount a tmpfs (root)");
