/**
 * An embedded S3/SNS-compatible server (fauxqs) on loopback, for tests and the demo. Reports
 * published to the topic fan out to an SQS queue, so their subject and body can be read back.
 * Limits to remember: fauxqs accepts but ignores versioning, encryption and checksums.
 */
import { startFauxqs } from "fauxqs";

export interface SnsMessage {
  subject: string;
  message: string;
}

export interface LocalAws {
  endpoint: string;
  region: string;
  topicArn: string;
  /** Credentials the CLI subprocess signs with (fauxqs accepts any). */
  env: Record<string, string>;
  createBucket(name: string): void;
  /** Removes an object behind the tool's back. */
  deleteObject(bucket: string, key: string): Promise<void>;
  snsMessages(): SnsMessage[];
  stop(): Promise<void>;
}

export const TEST_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: "AKIATESTLOCALONLY0000",
  AWS_SECRET_ACCESS_KEY: "local-test-secret-not-real",
};

export async function startLocalAws(buckets: string[] = []): Promise<LocalAws> {
  const server = await startFauxqs({ port: 0, logger: false, host: "127.0.0.1" });
  const region = "us-east-1";
  const endpoint = `http://127.0.0.1:${server.port}`;
  const { topicArn } = server.createTopic("s3-backup-reports", { region });
  server.createQueue("report-inbox", { region });
  server.subscribe({ topic: "s3-backup-reports", queue: "report-inbox", region });
  for (const b of buckets) server.createBucket(b);
  return {
    endpoint,
    region,
    topicArn,
    env: { ...TEST_CREDENTIALS, AWS_REGION: region },
    createBucket: (name) => void server.createBucket(name),
    async deleteObject(bucket, key) {
      const res = await fetch(
        `${endpoint}/${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`,
        {
          method: "DELETE",
        },
      );
      await res.body?.cancel();
      if (!res.ok) throw new Error(`delete ${bucket}/${key}: HTTP ${res.status}`);
    },
    snsMessages() {
      const q = server.inspectQueue("report-inbox");
      const all = [
        ...(q?.messages.ready ?? []),
        ...(q?.messages.inflight ?? []).map((m) => m.message),
      ];
      return all.map((m) => {
        const envelope = JSON.parse(m.body);
        return { subject: envelope.Subject ?? "", message: envelope.Message ?? "" };
      });
    },
    stop: () => server.stop(),
  };
}
