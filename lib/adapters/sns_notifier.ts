/** Notifier over SNS Publish. */
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import type { Notifier } from "../ports.ts";

export type SnsSender = Pick<SNSClient, "send">;

export class SnsNotifier implements Notifier {
  constructor(private readonly client: SnsSender, private readonly topicArn: string) {}

  async publish(subject: string, message: string): Promise<void> {
    await this.client.send(
      new PublishCommand({ TopicArn: this.topicArn, Subject: subject, Message: message }),
    );
  }
}
