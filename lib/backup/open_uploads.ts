/**
 * Multipart uploads left open by a run that was killed (kill -9, a crash, a power cut). S3
 * bills their parts until they are aborted (or until a lifecycle rule expires them, where one
 * exists), and the run itself could not abort them. The store journals each upload in the local
 * state before its first part and forgets it once completed or aborted, so whatever the journal
 * still holds when a run starts was left by an earlier one: it is aborted here.
 */
import type { Logger, ObjectStore, StateStore } from "../core/ports.ts";
import { describeError } from "../core/errors.ts";

export interface LeftUploads {
  aborted: number;
  /** No longer open (completed or aborted before the journal could forget it, or expired). */
  gone: number;
  /** Could not be aborted; still journaled, so the next run tries again. */
  failed: number;
}

/**
 * Before a run's uploads: journals this run's uploads in the state, and aborts what earlier runs
 * left open. Not for a dry run (it changes nothing).
 */
export async function prepareUploads(
  store: ObjectStore,
  state: StateStore,
  logger: Logger,
  signal?: AbortSignal,
): Promise<LeftUploads> {
  const { addOpenUpload, removeOpenUpload } = state;
  if (addOpenUpload && removeOpenUpload) {
    // First: aborting a leftover also forgets it through the journal.
    store.trackUploads?.({
      addOpenUpload: (u) => addOpenUpload.call(state, u),
      removeOpenUpload: (id) => removeOpenUpload.call(state, id),
    });
  }
  return await abortLeftUploads(store, state, logger, signal);
}

/**
 * Aborts the uploads an earlier run left open; logs each one and a total. Never throws. Stops at
 * the run's signal: what is left stays journaled for the next run.
 */
export async function abortLeftUploads(
  store: ObjectStore,
  state: StateStore,
  logger: Logger,
  signal?: AbortSignal,
): Promise<LeftUploads> {
  const result: LeftUploads = { aborted: 0, gone: 0, failed: 0 };
  if (!store.abortUpload || !state.openUploads) return result;
  const left = state.openUploads();
  for (const u of left) {
    if (signal?.aborted) break;
    const where = `s3://${u.bucket}/${u.key}`;
    try {
      const outcome = await store.abortUpload(u.bucket, u.key, u.uploadId);
      result[outcome]++;
      logger.info(
        outcome === "aborted"
          ? `Aborted the multipart upload of ${where} left open by an interrupted run`
          : `The multipart upload of ${where} left by an interrupted run was already gone`,
      );
    } catch (err) {
      result.failed++;
      logger.warn(
        `Could not abort the multipart upload of ${where} left open by an interrupted run ` +
          `(${describeError(err)}); the next run tries again`,
      );
    }
  }
  if (left.length > 0) {
    logger.info(
      `Multipart uploads left open by an interrupted run: ${result.aborted} aborted` +
        (result.gone > 0 ? `, ${result.gone} already gone` : "") +
        (result.failed > 0 ? `, ${result.failed} could not be aborted` : ""),
    );
  }
  return result;
}
