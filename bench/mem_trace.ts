/**
 * A memory tracer to preload into an s3backup run (`bench/ab.ts --stderr-dir DIR --variant
 * 'name=.|--preload=$PWD/bench/mem_trace.ts'`): samples `Deno.memoryUsage()` every 250 ms and, at the
 * highest RSS, V8's heap spaces; at exit writes to stderr the peaks, the spaces at the peak and a
 * sample every 2 s. How bench/README.md's memory profiles were taken.
 */
import v8 from "node:v8";

const MiB = 2 ** 20;
const t0 = performance.now();
const peak = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0 };
let atPeak = "";
const samples: string[] = [];

function sample(): void {
  const m = Deno.memoryUsage();
  for (const k of Object.keys(peak) as (keyof typeof peak)[]) peak[k] = Math.max(peak[k], m[k]);
  const line = `${((performance.now() - t0) / 1000).toFixed(1)} s rss=${m.rss / MiB | 0} heap=${
    m.heapTotal / MiB | 0
  } used=${m.heapUsed / MiB | 0} external=${m.external / MiB | 0}`;
  if (m.rss >= peak.rss) {
    const spaces = v8.getHeapSpaceStatistics().filter((s) => s.space_size > MiB)
      .map((s) => `${s.space_name}=${s.space_size / MiB | 0}/${s.space_used_size / MiB | 0}`);
    atPeak = `${line} ${spaces.join(" ")}`;
  }
  samples.push(line);
}

Deno.unrefTimer(setInterval(sample, 250));
globalThis.addEventListener("unload", () => {
  sample();
  const peaks = Object.entries(peak).map(([k, v]) => `${k}=${v / MiB | 0}`).join(" ");
  const every2s = samples.filter((_, i) => i % 8 === 0).map((l) => `MEMTRACE ${l}`);
  const text = [`MEMTRACE peak ${peaks}`, `MEMTRACE at peak ${atPeak}`, ...every2s].join("\n");
  Deno.stderr.writeSync(new TextEncoder().encode(`${text}\n`));
});
