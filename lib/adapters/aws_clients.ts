/** Builds the SDK clients from the config. The only place that knows the SDK's settings. */
import { S3Client } from "@aws-sdk/client-s3";
import { type AwsConfig, isHttpUrl } from "../config/config.ts";
import { ConfigError } from "../core/errors.ts";
import { PerRequestRetryStrategy } from "./retry_strategy.ts";
import {
  attachTransport,
  CONNECT_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  RequestCounter,
} from "./http_transport.ts";
import { TokenBucket } from "./token_bucket.ts";

type Env = Record<string, string | undefined>;

/** A custom endpoint and where it was set (named in warnings and errors). */
export interface Endpoint {
  url: string;
  from: string;
}

/**
 * The S3 and SNS endpoints: the config's, else the SDK's documented variables
 * (AWS_ENDPOINT_URL_S3 / _SNS, then AWS_ENDPOINT_URL), resolved here so that path-style
 * addressing and the plain-http warning apply whichever way an endpoint was given.
 */
export function resolveEndpoints(aws: AwsConfig, env: Env): { s3?: Endpoint; sns?: Endpoint } {
  const pick = (configured: string | undefined, key: string, service: "S3" | "SNS") => {
    if (configured !== undefined) return { url: configured, from: `aws.${key}` };
    for (const name of [`AWS_ENDPOINT_URL_${service}`, "AWS_ENDPOINT_URL"]) {
      const value = env[name];
      if (value === undefined || value === "") continue;
      if (!isHttpUrl(value)) {
        throw new ConfigError(`$${name} = '${value}' must be an http:// or https:// URL`);
      }
      return { url: value, from: `$${name}` };
    }
    return undefined;
  };
  return {
    s3: pick(aws.s3Endpoint, "s3_endpoint", "S3"),
    sns: pick(aws.snsEndpoint, "sns_endpoint", "SNS"),
  };
}

/** A warning for each endpoint that is plain http (requests and data travel unencrypted). */
export function plainHttpWarnings(aws: AwsConfig, env: Env): string[] {
  const { s3, sns } = resolveEndpoints(aws, env);
  const out: string[] = [];
  for (const [service, e] of [["S3", s3], ["SNS", sns]] as const) {
    if (!e?.url.startsWith("http://")) continue;
    const local = /^http:\/\/(127\.|localhost[:/]|\[::1\])/.test(e.url);
    out.push(
      `${service} endpoint ${e.url} (${e.from}) is plain http: requests are not encrypted${
        local ? " (loopback)" : " on the network"
      }`,
    );
  }
  return out;
}

/** Region from the config, else the SDK's environment variables; a clear error when neither. */
export function resolveRegion(aws: AwsConfig, env: Env): string {
  const region = aws.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (region) return region;
  const { s3, sns } = resolveEndpoints(aws, env);
  if (s3 || sns) return "us-east-1"; // local S3-compatible servers accept any region
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

/** The settings every SDK client of a run shares, for the given service's endpoint. */
export function clientSettings(aws: AwsConfig, env: Env, endpoint: Endpoint | undefined) {
  return {
    region: resolveRegion(aws, env),
    endpoint: endpoint?.url,
    // The SDK reads credentials and settings of this profile (not $AWS_PROFILE, which stays as is).
    profile: aws.profile,
    // Standard retry mode: exponential backoff with jitter on throttles, 5xx, resets, timeouts.
    maxAttempts: 5,
    retryStrategy: new PerRequestRetryStrategy(5),
    requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS },
  };
}

/**
 * The SDK rebuilds the User-Agent for every request, an os.release() system call each time
 * (~70 ms of CPU over 5,000 uploads in the profile); it cannot change during a run.
 */
export function buildUserAgentOnce<
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

/**
 * `bwlimit`: bytes per second for every request body together (see token_bucket.ts); absent or
 * 0: no limit.
 */
export function createS3Client(
  aws: AwsConfig,
  env: Env,
  opts: { bwlimit?: number } = {},
): CountingS3Client {
  const endpoint = resolveEndpoints(aws, env).s3;
  const idleMs = idleTimeoutMs(env);
  const client = buildUserAgentOnce(
    new S3Client({
      ...clientSettings(aws, env, endpoint),
      // A custom endpoint (MinIO, RGW, a local server) rarely resolves bucket.host names.
      forcePathStyle: aws.forcePathStyle ?? endpoint !== undefined,
      // We send our own precomputed checksums (Content-MD5, SHA-256); the SDK's trailing
      // checksums on streamed bodies are refused by some S3-compatible servers (RGW: 411).
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    }),
  );
  const counter = new RequestCounter();
  const limiter = opts.bwlimit ? new TokenBucket(opts.bwlimit) : undefined;
  attachTransport(client, counter, idleMs, limiter);
  return Object.assign(client, { requestCounts: () => counter.snapshot() });
}
