import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { type S3Sender, S3Store } from "./store.ts";
import { bytesSource } from "../../core/digest.ts";
import type { PutRequest } from "../../core/ports.ts";
import { FakeSdkClient } from "../../../tests/fakes/fake_sdk_client.ts";
import { s3Error } from "../../../tests/fakes/sdk_errors.ts";

function storeOver(fake: FakeSdkClient, opts?: ConstructorParameters<typeof S3Store>[1]) {
  return new S3Store(fake as unknown as S3Sender, opts);
}

function putRequest(bytes: Uint8Array): PutRequest {
  const source = bytesSource(bytes);
  return {
    bucket: "bkt",
    key: "docs/a.sql",
    source,
    contentType: "application/sql",
    metadata: { sha256: source.sha256 },
  };
}

/** A journal that records what the store told it, in order with the commands sent. */
function recordingJournal(fake: FakeSdkClient) {
  const events: string[] = [];
  const open = new Set<string>();
  return {
    events,
    open,
    journal: {
      addOpenUpload: (u: { uploadId: string }) => {
        events.push(`add ${u.uploadId} after ${fake.names().join(",")}`);
        open.add(u.uploadId);
      },
      removeOpenUpload: (id: string) => {
        events.push(`remove ${id}`);
        open.delete(id);
      },
    },
  };
}

Deno.test("S3Store.put journals a multipart upload before its first part, forgets it once complete", async () => {
  const bytes = Buffer.from("0123456789");
  const fake = new FakeSdkClient({
    CreateMultipartUploadCommand: () => ({ UploadId: "up-1" }),
    UploadPartCommand: (input) => ({ ETag: `"p${input.PartNumber}"` }),
    CompleteMultipartUploadCommand: () => ({ ETag: '"whole"' }),
  });
  const store = storeOver(fake, { partConcurrency: 1, minPartSize: 4 });
  const { events, open, journal } = recordingJournal(fake);
  store.trackUploads(journal);
  await store.put(putRequest(bytes));
  assert.deepEqual(events, ["add up-1 after CreateMultipartUploadCommand", "remove up-1"]);
  assert.equal(open.size, 0);
});

Deno.test("S3Store.put: an AbortMultipartUpload that fails is reported, and stays journaled", async () => {
  const bytes = Buffer.from("0123456789");
  const fake = new FakeSdkClient({
    CreateMultipartUploadCommand: () => ({ UploadId: "up-2" }),
    UploadPartCommand: () => {
      throw s3Error("InternalError", "We encountered an internal error.", 500, 5);
    },
    AbortMultipartUploadCommand: () => {
      throw s3Error("AccessDenied", "not allowed: s3:AbortMultipartUpload", 403);
    },
  });
  const store = storeOver(fake, { partConcurrency: 1, minPartSize: 4 });
  const { open, journal } = recordingJournal(fake);
  store.trackUploads(journal);
  await assert.rejects(
    store.put(putRequest(bytes)),
    /^Error: We encountered an internal error\. \(InternalError, HTTP 500\); its multipart upload could not be aborted \(not allowed: s3:AbortMultipartUpload \(AccessDenied, HTTP 403\)\): the next run aborts it$/,
  );
  assert.deepEqual([...open], ["up-2"], "the next run finds it in the journal");
});

Deno.test("S3Store.abortUpload: aborted, or gone when S3 no longer knows the upload", async () => {
  const fake = new FakeSdkClient({
    AbortMultipartUploadCommand: (input) => {
      if (input.UploadId === "old") throw s3Error("NoSuchUpload", "no such upload", 404);
      return {};
    },
  });
  const store = storeOver(fake);
  const { open, journal } = recordingJournal(fake);
  store.trackUploads(journal);
  open.add("live").add("old");
  assert.equal(await store.abortUpload("bkt", "a.sql", "live"), "aborted");
  assert.equal(await store.abortUpload("bkt", "b.sql", "old"), "gone");
  assert.equal(open.size, 0);
});
