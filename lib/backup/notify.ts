/**
 * The one reporting step: the run's report to SNS, then the heartbeat, each outcome kept for
 * the stdout report and the exit code (a report that reached nobody is a failure); and the
 * heartbeat's start ping at the beginning of a run, through the same port.
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
 * The heartbeat's start ping (healthchecks.io `<url>/start`): a monitor that hears a start and
 * no end within its grace time reports a run that hung or was killed. Never rejects: a start
 * ping that was not delivered is a warning, and the end's ping still says how the run went.
 */
export async function pingStart(channels: Channels, logger: Logger): Promise<void> {
  if (!channels.heartbeat) return;
  const out = await attempt(() => channels.heartbeat!.ping("start"));
  if (!out.sent) logger.warn(`Heartbeat start ping not sent: ${out.error}`);
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
    out.heartbeat = await attempt(() => heartbeat.ping(ok ? "success" : "fail"));
    if (!out.heartbeat.sent) logger.error(`Heartbeat not sent: ${out.heartbeat.error}`);
  }
  return out;
}
