/**
 * A one-line progress display for interactive runs: while the tree is walked, the files found
 * so far; then files uploaded and bytes sent of the plan's totals (bytes as they go, parts of
 * big files included), the byte rate and an ETA, redrawn in place with `\r`. cli/run.ts creates
 * it only when stderr is a terminal and --json is off, so cron, systemd and pipes never see it.
 *
 * Log lines written through `log()` clear the progress line first and redraw it after, so the
 * per-file INFO lines and the progress line do not garble each other.
 */
export interface ProgressTotals {
  files: number;
  bytes: number;
  /** The walk goes on: more files may be found to upload. */
  growing?: boolean;
}

export interface ProgressDone {
  files: number;
  bytes: number;
}

export interface ProgressState {
  done: ProgressDone;
  totals: ProgressTotals;
  /** Milliseconds since the uploads started. */
  elapsedMs: number;
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** 1536 → "1.5 KiB"; one decimal below 100 of a unit, none above. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return "? B";
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${Math.round(v)} B`;
  return `${v < 100 ? v.toFixed(1) : Math.round(v).toString()} ${UNITS[u]}`;
}

/** Seconds as m:ss, or h:mm:ss from an hour; "?" when unknown or absurd (over 99 hours). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 99 * 3600) return "?";
  const s = Math.ceil(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/**
 * The progress line, at most ~75 columns:
 * `Uploading 12/340 files, 1.2 GiB of 5.0 GiB (24%), 38.1 MiB/s, ETA 1:47`.
 * The percentage follows bytes (files when there are no bytes to send). Rate and ETA appear
 * once a second has passed and something was sent, so the first draw does not show noise.
 */
export function formatProgress({ done, totals, elapsedMs }: ProgressState): string {
  const files = `${done.files}/${totals.files} files`;
  const bytes = `${formatBytes(done.bytes)} of ${formatBytes(totals.bytes)}`;
  const fraction = totals.bytes > 0
    ? done.bytes / totals.bytes
    : totals.files > 0
    ? done.files / totals.files
    : 1;
  const pct = `${Math.min(100, Math.floor(fraction * 100))}%`;
  const parts = [`Uploading ${files}, ${bytes} (${pct})`];
  const seconds = elapsedMs / 1000;
  if (seconds >= 1 && done.files < totals.files) {
    if (done.bytes > 0) {
      const rate = done.bytes / seconds;
      parts.push(`${formatBytes(rate)}/s`);
      parts.push(`ETA ${formatDuration(Math.max(0, totals.bytes - done.bytes) / rate)}`);
    } else if (done.files > 0) {
      parts.push(`ETA ${formatDuration((totals.files - done.files) * seconds / done.files)}`);
    }
  }
  return parts.join(", ");
}

/**
 * While the walk goes on and uploads already run (a plan is made as the tree is walked):
 * `Scanning: 12,345 files found; uploaded 12/340 files, 1.2 MiB of 5.0 MiB so far`.
 */
export function formatScanAndUpload(seen: number, { done, totals }: ProgressState): string {
  const scan = formatScan(seen);
  if (totals.files === 0) return scan;
  return `${scan}; uploaded ${done.files}/${totals.files} files, ${formatBytes(done.bytes)} of ${
    formatBytes(totals.bytes)
  } so far`;
}

/** The scan phase's line: `Scanning: 12,345 files found`. */
export function formatScan(files: number): string {
  return `Scanning: ${files.toLocaleString("en-US")} ${files === 1 ? "file" : "files"} found`;
}

export interface ProgressOptions {
  /** Monotonic milliseconds; performance.now by default. */
  now?: () => number;
  /** Minimum time between two redraws (default 200 ms: at most 5 redraws a second). */
  minIntervalMs?: number;
}

/** `\r` to column 0, the line, then erase whatever a longer previous line left behind. */
const CLEAR_LINE = "\r\x1b[K";

/**
 * Draws the scan phase (files found so far), then formatProgress, in place on a terminal, at
 * most once per minIntervalMs.
 */
export class ProgressDisplay {
  #write: (text: string) => void;
  #now: () => number;
  #minInterval: number;
  /** Files found by the scan so far; undefined until the scan reports. */
  #seen?: number;
  #totalsOf?: () => ProgressTotals;
  #done: ProgressDone = { files: 0, bytes: 0 };
  #startedAt = 0;
  #lastDraw = Number.NEGATIVE_INFINITY;
  /** A progress line is on screen (so a log line must clear it first). */
  #shown = false;
  #finished = false;

  constructor(write: (text: string) => void, opts: ProgressOptions = {}) {
    this.#write = write;
    this.#now = opts.now ?? (() => performance.now());
    this.#minInterval = opts.minIntervalMs ?? 200;
  }

  /** The scan found `files` so far (RunDeps.onScan); redrawn unless too recent. */
  scanned(files: number): void {
    if (this.#finished || (this.#totalsOf && !this.#totalsOf().growing)) return;
    this.#seen = files;
    if (this.#now() - this.#lastDraw >= this.#minInterval) this.#draw();
  }

  /**
   * The plan is being made (RunDeps.onPlan): its totals as they grow, read at each redraw.
   * Nothing is drawn when there is nothing to upload.
   */
  start(totals: ProgressTotals | (() => ProgressTotals)): void {
    this.#totalsOf = typeof totals === "function" ? totals : () => totals;
    this.#startedAt = this.#now();
    if (this.#uploading() || (this.#totalsOf().growing && this.#seen !== undefined)) this.#draw();
    else this.#clear();
  }

  /**
   * Files finished and bytes sent so far (RunDeps.onProgress: as bytes go, and after each
   * file); redraws unless the last redraw was too recent.
   */
  update(done: ProgressDone): void {
    this.#done = done;
    if (!this.#totalsOf || this.#finished) return;
    if (this.#now() - this.#lastDraw >= this.#minInterval) this.#draw();
  }

  /** Writes a log line (with its own newline) above the progress line. */
  log(line: string): void {
    const shown = this.#shown;
    this.#clear();
    this.#write(line);
    if (shown || this.#uploading()) this.#draw(false);
  }

  /** Draws the final state and ends the line (a scan line is erased); later calls do nothing. */
  finish(): void {
    if (this.#finished) return;
    if (this.#uploading() && (this.#shown || this.#done.files > 0)) {
      this.#draw();
      this.#write("\n");
      this.#shown = false;
    } else this.#clear();
    this.#finished = true;
  }

  #uploading(): boolean {
    return this.#totalsOf !== undefined && !this.#finished && this.#totalsOf().files > 0;
  }

  #clear(): void {
    if (this.#shown) this.#write(CLEAR_LINE);
    this.#shown = false;
  }

  #draw(count = true): void {
    if (this.#finished) return;
    const now = this.#now();
    let line: string;
    const totals = this.#totalsOf?.();
    const state = totals && { done: this.#done, totals, elapsedMs: now - this.#startedAt };
    if (state && totals.growing && this.#seen !== undefined) {
      line = formatScanAndUpload(this.#seen, state);
    } else if (state && totals.files > 0) {
      line = formatProgress(state);
    } else if (state) return;
    else if (this.#seen !== undefined) line = formatScan(this.#seen);
    else return;
    this.#write(CLEAR_LINE + line);
    this.#shown = true;
    if (count) this.#lastDraw = now;
  }
}
