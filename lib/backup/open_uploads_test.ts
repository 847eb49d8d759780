import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { SqliteStateStore, STATE_FILE } from "../adapters/sqlite_state.ts";
import { prepareUploads } from "./open_uploads.ts";
import type { Logger, ObjectStore, UploadJournal } from "../core/ports.ts";

function withState(fn: (state: SqliteStateStore, dir: string) => Promise<void> | void) {
  return async () => {
    const dir = Deno.makeTempDirSync({ prefix: "s3backup-uploads-" });
    const state = SqliteStateStore.open(dir);
    try {
      await fn(state, dir);
    } finally {
      state.close();
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

function logger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    debug: (m) => lines.push(`DEBUG ${m}`),
    info: (m) => lines.push(`INFO ${m}`),
    verbose: (m) => lines.push(`INFO ${m}`),
    warn: (m) => lines.push(`WARNING ${m}`),
    error: (m) => lines.push(`ERROR ${m}`),
  };
}

Deno.test(
  "SqliteStateStore journals open uploads at once, visible to another connection (kill -9)",
  withState((state, dir) => {
    state.addOpenUpload({ bucket: "b", key: "big.sql", uploadId: "u1" });
    state.addOpenUpload({ bucket: "b", key: "other.sql", uploadId: "u2" });
    state.removeOpenUpload("u2");
    // Another connection sees the row before this one is closed: it is on disk, not queued.
    const db = new DatabaseSync(`${dir}/${STATE_FILE}`, { readOnly: true });
    try {
      assert.deepEqual(
        db.prepare("SELECT bucket, key, upload_id FROM open_uploads").all().map((r) => ({
          ...r,
        })),
        [{ bucket: "b", key: "big.sql", upload_id: "u1" }],
      );
    } finally {
      db.close();
    }
    assert.deepEqual(state.openUploads(), [{ bucket: "b", key: "big.sql", uploadId: "u1" }]);
  }),
);

Deno.test(
  "prepareUploads aborts what an earlier run left, logs and counts it, keeps what failed",
  withState(async (state) => {
    state.addOpenUpload({ bucket: "b", key: "a.sql", uploadId: "live" });
    state.addOpenUpload({ bucket: "b", key: "b.sql", uploadId: "expired" });
    state.addOpenUpload({ bucket: "b", key: "c.sql", uploadId: "denied" });
    let journal: UploadJournal | undefined;
    const store = {
      trackUploads: (j: UploadJournal) => (journal = j),
      abortUpload: (_b: string, _k: string, id: string) => {
        if (id === "denied") return Promise.reject(new Error("AccessDenied (HTTP 403)"));
        journal!.removeOpenUpload(id); // as S3Store does once S3 answered
        return Promise.resolve(id === "live" ? "aborted" as const : "gone" as const);
      },
    } as unknown as ObjectStore;
    const log = logger();
    const left = await prepareUploads(store, state, log);
    assert.deepEqual(left, { aborted: 1, gone: 1, failed: 1 });
    const total = log.lines.pop();
    assert.deepEqual(log.lines.sort(), [
      "INFO Aborted the multipart upload of s3://b/a.sql left open by an interrupted run",
      "INFO The multipart upload of s3://b/b.sql left by an interrupted run was already gone",
      "WARNING Could not abort the multipart upload of s3://b/c.sql left open by an interrupted " +
      "run (AccessDenied (HTTP 403)); the next run tries again",
    ]);
    assert.equal(
      total,
      "INFO Multipart uploads left open by an interrupted run: 1 aborted, 1 already gone, " +
        "1 could not be aborted",
    );
    assert.deepEqual(state.openUploads().map((u) => u.uploadId), ["denied"]);
    // This run's uploads go to the same journal.
    journal!.addOpenUpload({ bucket: "b", key: "d.sql", uploadId: "new" });
    assert.deepEqual(state.openUploads().map((u) => u.uploadId).sort(), ["denied", "new"]);
  }),
);

Deno.test(
  "prepareUploads with nothing left sends nothing and logs nothing",
  withState(async (state) => {
    let aborts = 0;
    const store = {
      trackUploads: () => {},
      abortUpload: () => {
        aborts++;
        return Promise.resolve("aborted" as const);
      },
    } as unknown as ObjectStore;
    const log = logger();
    assert.deepEqual(await prepareUploads(store, state, log), { aborted: 0, gone: 0, failed: 0 });
    assert.equal(aborts, 0);
    assert.deepEqual(log.lines, []);
  }),
);
