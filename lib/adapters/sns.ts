/**
 * Notifier over SNS Publish. Its own module, loaded only when a topic is configured: the SNS
 * client's code is not loaded by a run that sends no report.
 */
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { Notifier } from "../core/ports.ts";
import type { AwsConfig } from "../config/config.ts";
import {
  buildUserAgentOnce,
  clientSettings,
  idleTimeoutMs,
  resolveEndpoints,
} from "./aws_clients.ts";
import { attachTransport, RequestCounter } from "./http_transport.ts";

export type SnsSender = Pick<SNSClient, "send">;

/**
 * How long the report may take once the run was interrupted: SIGTERM from `timeout` or systemd
 * is followed by SIGKILL (systemd: 90 s), and the INTERRUPTED report must go out before that.
 */
export const PUBLISH_AFTER_SIGNAL_MS = 5000;

export class SnsNotifier implements Notifier {
  /** `signal` (the run's SIGINT/SIGTERM) cuts a publish in flight when it aborts. */
  constructor(
    private readonly client: SnsSender,
    private readonly topicArn: string,
    private readonly signal?: AbortSignal,
  ) {}

  async publish(subject: string, message: string): Promise<void> {
    // The report of an interrupted run is still sent, within a short bound of its own.
    const abortSignal = this.signal?.aborted
      ? AbortSignal.timeout(PUBLISH_AFTER_SIGNAL_MS)
      : this.signal;
    await this.client.send(
      new PublishCommand({ TopicArn: this.topicArn, Subject: subject, Message: message }),
      abortSignal ? { abortSignal } : {},
    );
  }
}

export function createSnsClient(
  aws: AwsConfig,
  env: Record<string, string | undefined>,
): SNSClient {
  const client = buildUserAgentOnce(
    new SNSClient(clientSettings(aws, env, resolveEndpoints(aws, env).sns)),
  );
  attachTransport(client, new RequestCounter(), idleTimeoutMs(env));
  return client;
}
