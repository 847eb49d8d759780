/** Builds the SDK clients from the config. The only place that knows the SDK's settings. */
import { S3Client } from "@aws-sdk/client-s3";
import { SNSClient } from "@aws-sdk/client-sns";
import type { AwsConfig } from "../config.ts";
import { ConfigError } from "../errors.ts";
import {
  attachTransport,
  CONNECT_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  RequestCounter,
} from "./http_transport.ts";

/** Region from the config, else the SDK's environment variables; a clear error when neither. */
export function resolveRegion(aws: AwsConfig, env: Record<string, string | undefined>): string {
  const region = aws.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (region) return region;
  if (aws.endpoint) return "us-east-1"; // local S3-compatible servers accept any region
  throw new ConfigError(`'aws.region' is not set (set it in the config or in $AWS_REGION)`);
}

/**
 * How long a request may make no progress (see http_transport.ts): 60 s, or
 * $S3BACKUP_IDLE_TIMEOUT seconds (tests shorten it to provoke stalls quickly).
 */
export function idleTimeoutMs(env: Record<string, string | undefined>): number {
  const raw = env.S3BACKUP_IDLE_TIMEOUT;
  if (raw === undefined || raw === "") return DEFAULT_IDLE_TIMEOUT_MS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) {
    throw new ConfigError(
      `$S3BACKUP_IDLE_TIMEOUT = '${raw}' must be a number of seconds above 0, at most 3600`,
    );
  }
  return Math.ceil(seconds * 1000);
}

function common(aws: AwsConfig, env: Record<string, string | undefined>) {
  return {
    region: resolveRegion(aws, env),
    endpoint: aws.endpoint,
    // Standard retry mode: exponential backoff with jitter on throttles, 5xx, resets, timeouts.
    maxAttempts: 5,
    requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS },
  };
}

/**
 * Quiet like the SDK's default logger, except that other warnings still reach stderr. The SDK
 * prints "An error was encountered in a non-retryable streaming request." on every failed
 * upload attempt; S3Store retries those itself, so that line only misleads. (debug/info/error
 * receive whole commands and responses: never printed.)
 */
const s3Logger = {
  debug() {},
  info() {},
  warn: (...args: unknown[]) => {
    if (!String(args[0]).includes("non-retryable streaming request")) console.warn(...args);
  },
  error() {},
};

/**
 * The SDK rebuilds the User-Agent for every request, an os.release() system call each time
 * (~70 ms of CPU over 5,000 uploads in the profile); it cannot change during a run.
 */
function buildUserAgentOnce<
  C extends { config: { defaultUserAgentProvider: () => Promise<T> } },
  T,
>(
  client: C,
): C {
  const build = client.config.defaultUserAgentProvider;
  let built: Promise<T> | undefined;
  client.config.defaultUserAgentProvider = () => built ??= build();
  return client;
}

/** An S3 client that counts the HTTP requests it sends, by operation, retries included. */
export type CountingS3Client = S3Client & { requestCounts(): Record<string, number> };

export function createS3Client(
  aws: AwsConfig,
  env: Record<string, string | undefined>,
): CountingS3Client {
  const idleMs = idleTimeoutMs(env);
  const client = buildUserAgentOnce(
    new S3Client({
      ...common(aws, env),
      forcePathStyle: aws.forcePathStyle,
      logger: s3Logger,
      // We send our own precomputed checksums (Content-MD5, SHA-256); the SDK's trailing
      // checksums on streamed bodies are refused by some S3-compatible servers (RGW: 411).
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    }),
  );
  const counter = new RequestCounter();
  attachTransport(client, counter, idleMs);
  return Object.assign(client, { requestCounts: () => counter.snapshot() });
}

export function createSnsClient(
  aws: AwsConfig,
  env: Record<string, string | undefined>,
): SNSClient {
  const client = buildUserAgentOnce(new SNSClient(common(aws, env)));
  attachTransport(client, new RequestCounter(), idleTimeoutMs(env));
  return client;
}
