import assert from "node:assert/strict";
import { SnsNotifier, type SnsSender } from "./sns.ts";
import { FakeSdkClient } from "../../tests/fakes/fake_sdk_client.ts";
import { s3Error } from "../../tests/fakes/sdk_errors.ts";

const TOPIC = "arn:aws:sns:eu-south-1:123456789012:s3-backup-reports";

Deno.test("SnsNotifier.publish sends one PublishCommand with TopicArn, Subject and Message", async () => {
  const fake = new FakeSdkClient({ PublishCommand: () => ({ MessageId: "m-1" }) });
  const notifier = new SnsNotifier(fake as unknown as SnsSender, TOPIC);
  await notifier.publish("s3backup OK on host", "Backup completed.\nFiles uploaded: 1\n");
  assert.deepEqual(fake.sent, [{
    name: "PublishCommand",
    input: {
      TopicArn: TOPIC,
      Subject: "s3backup OK on host",
      Message: "Backup completed.\nFiles uploaded: 1\n",
    },
  }]);
});

Deno.test("SnsNotifier.publish rejects with the SDK's error", async () => {
  const fake = new FakeSdkClient({
    PublishCommand: () => {
      throw s3Error("AuthorizationError", "not authorized to perform SNS:Publish", 403);
    },
  });
  const notifier = new SnsNotifier(fake as unknown as SnsSender, TOPIC);
  await assert.rejects(notifier.publish("s", "m"), { name: "AuthorizationError" });
});
