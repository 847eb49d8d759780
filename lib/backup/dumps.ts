/**
 * The `[[dumps]]` of a run: each command's stdout streamed into its object
 * `<key_prefix>/dumps/<name><extension>` in its category's bucket, one dump after the other, as
 * the command writes it (no temporary file, a few parts in memory: ObjectStore.putStream).
 *
 * The SHA-256 is computed while the bytes pass, so it is known only once the object is complete,
 * after its metadata was sent (CreateMultipartUpload). It is recorded, with the version id, in
 * the run manifest, and restore checks the dump against it. Rewriting the object onto itself to
 * add the hash as metadata was rejected: on a versioned bucket that copy is a second version, so
 * every night's dump would be stored twice until noncurrent versions expire (and a copy of more
 * than 5 GiB needs a multipart copy of its own).
 *
 * A dump becomes a version only when its command exited 0, within its timeout, having written
 * at least one byte; otherwise the body throws before its end and the upload is aborted.
 */
import { createHash } from "node:crypto";
import type { Clock, CommandRunner, Logger, ObjectStore } from "../core/ports.ts";
import type { Category, DumpOutcome } from "../core/types.ts";
import { type DumpConfig, dumpRelPath } from "../config/commands.ts";
import { DUMP_METADATA, MTIME_METADATA, objectKey } from "../core/layout.ts";
import { describeError } from "../core/errors.ts";
import { contentTypeFor } from "./route.ts";
import { describeExit, showArgv, succeeded, withStderr } from "./commands.ts";

export interface DumpDeps {
  store: ObjectStore;
  commands: CommandRunner;
  logger: Logger;
  clock: Clock;
  signal?: AbortSignal;
}

/** Where a dump goes: its category's bucket and its key. */
export function dumpTarget(
  d: DumpConfig,
  categories: Category[],
  keyPrefix: string,
): { bucket: string; key: string } {
  const bucket = categories.find((c) => c.name === d.category)!.bucket;
  return { bucket, key: objectKey(keyPrefix, dumpRelPath(d)) };
}

/** The command failed (or wrote nothing): the upload must not complete. */
class DumpFailed extends Error {
  constructor(message: string, readonly stderr: string[]) {
    super(message);
  }
}

async function runDump(
  d: DumpConfig,
  target: { bucket: string; key: string },
  deps: DumpDeps,
): Promise<DumpOutcome> {
  const startedAt = deps.clock.now();
  const base = { name: d.name, ...target };
  deps.logger.info(
    `Dumping ${d.name} (${showArgv(d.command)}) to s3://${target.bucket}/${target.key}...`,
  );
  const running = deps.commands.start(d.command, {
    stdout: "piped",
    timeoutMs: d.timeoutMs,
    signal: deps.signal,
  });
  const hash = createHash("sha256");
  let bytes = 0;
  const body = (async function* () {
    try {
      for await (const chunk of running.stdout) {
        hash.update(chunk);
        bytes += chunk.length;
        yield chunk;
      }
    } catch (err) {
      const exit = await running.exit;
      throw new DumpFailed(
        `${describeExit(exit, d.timeout)}; ${describeError(err)}`,
        exit.stderrTail,
      );
    }
    // The last part is held back until the command's exit is known.
    const exit = await running.exit;
    if (!succeeded(exit)) throw new DumpFailed(describeExit(exit, d.timeout), exit.stderrTail);
    if (bytes === 0) {
      throw new DumpFailed("the command wrote nothing to stdout (exit 0)", exit.stderrTail);
    }
  })();
  try {
    const out = await deps.store.putStream({
      ...target,
      body,
      contentType: contentTypeFor(target.key),
      metadata: { [DUMP_METADATA]: d.name, [MTIME_METADATA]: startedAt.toISOString() },
    });
    const durationMs = deps.clock.now().getTime() - startedAt.getTime();
    deps.logger.info(`Dump ${d.name}: ${out.size} bytes in ${(durationMs / 1000).toFixed(2)} s`);
    return {
      ...base,
      status: "uploaded",
      bytes: out.size,
      durationMs,
      sha256: hash.digest("hex"),
      versionId: out.versionId,
    };
  } catch (err) {
    running.kill(); // the upload failed first: the command must not be left writing to a pipe
    const exit = await running.exit;
    const interrupted = deps.signal?.aborted ? "interrupted; " : "";
    // The store rethrows the body's error, or wraps it when the upload could not be aborted.
    const cause = err instanceof DumpFailed
      ? err
      : (err as { cause?: unknown })?.cause instanceof DumpFailed
      ? (err as { cause: DumpFailed }).cause
      : undefined;
    const error = interrupted +
      (cause === undefined ? `upload failed: ${describeError(err)}` : describeError(err));
    const stderr = cause?.stderr ?? exit.stderrTail;
    deps.logger.error(`Dump ${d.name} FAILED (no new version): ${withStderr(error, stderr)}`);
    return {
      ...base,
      status: "failed",
      bytes,
      durationMs: deps.clock.now().getTime() - startedAt.getTime(),
      error,
      ...(stderr.length > 0 ? { stderr } : {}),
    };
  }
}

/** Runs the dumps one after the other; once the run is interrupted, the rest are not started. */
export async function runDumps(
  dumps: DumpConfig[],
  categories: Category[],
  keyPrefix: string,
  deps: DumpDeps,
): Promise<DumpOutcome[]> {
  const out: DumpOutcome[] = [];
  for (const d of dumps) {
    const target = dumpTarget(d, categories, keyPrefix);
    if (deps.signal?.aborted) {
      out.push({ name: d.name, ...target, status: "not-run", bytes: 0, durationMs: 0 });
      continue;
    }
    out.push(await runDump(d, target, deps));
  }
  return out;
}

/** A dry run runs no command: each dump is listed with where it would go. */
export function dryRunDumps(
  dumps: DumpConfig[],
  categories: Category[],
  keyPrefix: string,
  logger: Logger,
): DumpOutcome[] {
  return dumps.map((d) => {
    const target = dumpTarget(d, categories, keyPrefix);
    logger.info(
      `Would dump ${d.name} (${showArgv(d.command)}) to s3://${target.bucket}/${target.key}`,
    );
    return { name: d.name, ...target, status: "would-run", bytes: 0, durationMs: 0 };
  });
}
