/**
 * The one reporting step: the run's report to SNS, then the heartbeat, each outcome kept for
 * the stdout report and the exit code (a report that reached nobody is a failure).
 */
import type { Heartbeat, Logger, Notifier } from "../core/ports.ts";
import type { NotificationOutcome, Summary } from "../core/types.ts";
import { describeError } from "../core/errors.ts";
import { outcomeWord, snsMessage, snsSubject } from "./report.ts";

export interface Channels {
  /** undefined when no topic is configured, --no-notify or --dry-run. */
  notifier?: Notifier;
  /** undefined when no ping_url is configured, --no-notify or --dry-run. */
  heartbeat?: Heartbeat;
}

async function attempt(send: () => Promise<void>): Promise<NotificationOutcome> {
  try {
    await send();
    return { sent: true };
  } catch (err) {
    return { sent: false, error: describeError(err) };
  }
}

/**
 * Sends the report. SNS carries the summary as it stands; the heartbeat says whether the run
 * (SNS included) went well. `ping: false` when another run holds the lock: that run pings.
 */
export async function sendReport(
  summary: Summary,
  channels: Channels,
  logger: Logger,
  ping = true,
): Promise<{ sns?: NotificationOutcome; heartbeat?: NotificationOutcome }> {
  const out: { sns?: NotificationOutcome; heartbeat?: NotificationOutcome } = {};
  const { notifier, heartbeat } = channels;
  if (notifier) {
    out.sns = await attempt(() => notifier.publish(snsSubject(summary), snsMessage(summary)));
    if (out.sns.sent) logger.info("SNS notification sent successfully.");
    else logger.error(`Error sending SNS notification: ${out.sns.error}`);
  }
  if (heartbeat && ping) {
    const ok = outcomeWord(summary) === "OK" && out.sns?.sent !== false;
    out.heartbeat = await attempt(() => heartbeat.ping(ok));
    if (!out.heartbeat.sent) logger.error(`Heartbeat not sent: ${out.heartbeat.error}`);
  }
  return out;
}
