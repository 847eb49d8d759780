/** Durations as people write them (`26h`, `90m`, `1d12h`) and ages as people read them. Pure. */

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of "26h", "90m", "1d12h", "3600s"; undefined when it is not such a duration. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (!/^(\d+(\.\d+)?[smhd])+$/.test(t)) return undefined;
  let ms = 0;
  for (const [, n, unit] of t.matchAll(/(\d+(?:\.\d+)?)([smhd])/g)) ms += Number(n) * UNIT_MS[unit];
  return ms > 0 && Number.isFinite(ms) ? Math.round(ms) : undefined;
}

/** "45s", "5m 3s", "5h 3m", "2d 5h": the two largest units. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [d, h, m] = [Math.floor(s / 86400), Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60];
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/**
 * An ISO 8601 time to the second, as `restore --at` takes it: 2026-02-11T02:00:05Z. Rounded up
 * with `up` (a restore point's time: --at must not fall before the manifest it names).
 */
export function isoSeconds(d: Date, up = false): string {
  const ms = d.getTime();
  const whole = up ? Math.ceil(ms / 1000) * 1000 : Math.floor(ms / 1000) * 1000;
  return new Date(whole).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** 1536 → "1.5 KiB"; bytes below 1 KiB as "N B". */
export function humanBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}
