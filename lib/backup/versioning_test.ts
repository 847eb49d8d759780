import assert from "node:assert/strict";
import {
  type BucketVersioning,
  cachedStatus,
  checkVersioning,
  VERSIONING_CHECK_MS,
  versioningMetaName,
  versioningWarnings,
} from "./versioning.ts";
import type { ObjectStore, VersioningStatus } from "../core/ports.ts";

const NOW = new Date("2026-02-11T02:00:00Z");
const at = (msAgo: number) => new Date(NOW.getTime() - msAgo).toISOString();

Deno.test("cachedStatus: only a recent Enabled answer is trusted", () => {
  const cases: Array<[string | undefined, VersioningStatus | undefined]> = [
    [undefined, undefined],
    ["not json", undefined],
    [JSON.stringify({ status: "Enabled", checkedAt: at(60_000) }), "Enabled"],
    [JSON.stringify({ status: "Enabled", checkedAt: at(VERSIONING_CHECK_MS - 1) }), "Enabled"],
    [JSON.stringify({ status: "Enabled", checkedAt: at(VERSIONING_CHECK_MS) }), undefined],
    [JSON.stringify({ status: "Enabled", checkedAt: at(-60_000) }), undefined], // clock went back
    [JSON.stringify({ status: "Suspended", checkedAt: at(60_000) }), undefined],
    [JSON.stringify({ status: "Disabled", checkedAt: at(60_000) }), undefined],
    [JSON.stringify({ status: "Enabled" }), undefined],
  ];
  for (const [value, want] of cases) assert.equal(cachedStatus(value, NOW), want, value);
});

Deno.test("versioningWarnings: one line for unversioned buckets, one per bucket not checked", () => {
  const cases: Array<[BucketVersioning[], RegExp[]]> = [
    [[{ bucket: "a", status: "Enabled" }], []],
    [[], []],
    [
      [{ bucket: "a", status: "Enabled" }, { bucket: "b", status: "Disabled" }],
      [/^Versioning is not enabled on bucket b \(Disabled\): .*restore --at cannot go back/],
    ],
    [
      [{ bucket: "a", status: "Suspended" }, { bucket: "b", status: "Disabled" }],
      [/^Versioning is not enabled on buckets a \(Suspended\), b \(Disabled\): /],
    ],
    [
      [{ bucket: "a", error: "AccessDenied (HTTP 403)" }],
      [/^Could not check the versioning of bucket a: AccessDenied \(HTTP 403\) .*GetBucketVer/],
    ],
  ];
  for (const [results, want] of cases) {
    const got = versioningWarnings(results);
    assert.equal(got.length, want.length, JSON.stringify(got));
    want.forEach((re, i) => assert.match(got[i], re));
  }
});

Deno.test("checkVersioning: asks S3 unless a recent Enabled is cached; saves only when asked to", async () => {
  const asked: string[] = [];
  const answers: Record<string, VersioningStatus | Error> = {
    on: "Enabled",
    off: "Disabled",
    denied: Object.assign(new Error("Access Denied"), { name: "AccessDenied" }),
  };
  const store = {
    versioning: (b: string) => {
      asked.push(b);
      const a = answers[b];
      return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
    },
  } as unknown as ObjectStore;
  const meta = new Map<string, string>();
  const state = {
    getMeta: (n: string) => meta.get(n),
    setMeta: (n: string, v: string) => void meta.set(n, v),
  };

  const first = await checkVersioning(["on", "off", "denied", "on"], store, state, NOW, true);
  assert.deepEqual(asked, ["on", "off", "denied"], "each bucket once");
  assert.deepEqual(first.map((r) => [r.bucket, r.status, r.cached]), [
    ["on", "Enabled", undefined],
    ["off", "Disabled", undefined],
    ["denied", undefined, undefined],
  ]);
  assert.match(first[2].error!, /Access Denied/);
  assert.ok(meta.has(versioningMetaName("on")) && meta.has(versioningMetaName("off")));

  asked.length = 0;
  const second = await checkVersioning(["on", "off"], store, state, NOW, true);
  assert.deepEqual(asked, ["off"], "Enabled is cached for a day; Disabled is asked again");
  assert.equal(second[0].cached, true);

  asked.length = 0;
  const later = new Date(NOW.getTime() + VERSIONING_CHECK_MS);
  await checkVersioning(["on"], store, state, later, true);
  assert.deepEqual(asked, ["on"], "a day later it is asked again");

  const dry = new Map<string, string>();
  const ro = {
    getMeta: (n: string) => dry.get(n),
    setMeta: (n: string, v: string) => void dry.set(n, v),
  };
  await checkVersioning(["on"], store, ro, NOW, false);
  assert.equal(dry.size, 0, "a dry run writes nothing");

  assert.deepEqual(await checkVersioning(["x"], {} as ObjectStore, state, NOW, true), []);
});
