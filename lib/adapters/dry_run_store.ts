/** Wraps a store for --dry-run: reads pass through, writes are recorded and never sent. */
import type { ObjectStore, PutRequest, PutResult, RestoreRequestOutcome } from "../ports.ts";

export class DryRunStore implements ObjectStore {
  /** What a real run would have written, as bucket/key. */
  readonly wouldPut: string[] = [];
  readonly wouldRestore: string[] = [];

  constructor(private readonly inner: ObjectStore) {}

  list(bucket: string, prefix: string) {
    return this.inner.list(bucket, prefix);
  }
  head(bucket: string, key: string, versionId?: string) {
    return this.inner.head(bucket, key, versionId);
  }
  get(bucket: string, key: string, versionId?: string) {
    return this.inner.get(bucket, key, versionId);
  }
  listVersions(bucket: string, prefix: string) {
    return this.inner.listVersions(bucket, prefix);
  }
  requestCounts(): Record<string, number> {
    return this.inner.requestCounts();
  }

  put(req: PutRequest): Promise<PutResult> {
    this.wouldPut.push(`${req.bucket}/${req.key}`);
    return Promise.resolve({});
  }

  requestRestore(bucket: string, key: string): Promise<RestoreRequestOutcome> {
    this.wouldRestore.push(`${bucket}/${key}`);
    return Promise.resolve("started");
  }
}
