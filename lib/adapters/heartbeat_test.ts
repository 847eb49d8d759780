import assert from "node:assert/strict";
import { heartbeatUrl, redactUrl, sendHeartbeat } from "./heartbeat.ts";

Deno.test("heartbeatUrl: success is the URL, start and failure append /start and /fail", () => {
  const cases: [string, "success" | "fail" | "start", string][] = [
    ["https://hc-ping.example/5a1c", "success", "https://hc-ping.example/5a1c"],
    ["https://hc-ping.example/5a1c", "fail", "https://hc-ping.example/5a1c/fail"],
    ["https://hc-ping.example/5a1c", "start", "https://hc-ping.example/5a1c/start"],
    ["https://hc-ping.example/5a1c/", "fail", "https://hc-ping.example/5a1c/fail"],
    ["https://hc-ping.example/5a1c/", "start", "https://hc-ping.example/5a1c/start"],
    ["http://127.0.0.1:8000", "success", "http://127.0.0.1:8000/"],
    ["http://127.0.0.1:8000", "fail", "http://127.0.0.1:8000/fail"],
    [
      "https://hc.example/p/key/slug?create=1",
      "fail",
      "https://hc.example/p/key/slug/fail?create=1",
    ],
    [
      "https://hc.example/p/key/slug?create=1",
      "start",
      "https://hc.example/p/key/slug/start?create=1",
    ],
  ];
  for (const [base, ok, want] of cases) assert.equal(heartbeatUrl(base, ok), want);
});

Deno.test("redactUrl drops credentials and the query string", () => {
  assert.equal(redactUrl("https://u:secret@hc.example/p/x?k=secret"), "https://hc.example/p/x");
  assert.equal(redactUrl("not a url"), "(invalid URL)");
});

interface Hit {
  method: string;
  path: string;
}

function server(status = 200) {
  const hits: Hit[] = [];
  const srv = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    hits.push({ method: req.method, path: new URL(req.url).pathname });
    return new Response("OK", { status });
  });
  return { hits, url: `http://127.0.0.1:${srv.addr.port}`, close: () => srv.shutdown() };
}

Deno.test("sendHeartbeat: success GETs the URL itself", async () => {
  const s = server();
  try {
    assert.equal(await sendHeartbeat(s.url, "success"), undefined);
    assert.equal(await sendHeartbeat(`${s.url}/check-uuid`, "success"), undefined);
    assert.deepEqual(s.hits, [{ method: "GET", path: "/" }, {
      method: "GET",
      path: "/check-uuid",
    }]);
  } finally {
    await s.close();
  }
});

Deno.test("sendHeartbeat: failure GETs <url>/fail", async () => {
  const s = server();
  try {
    assert.equal(await sendHeartbeat(s.url, "fail"), undefined);
    assert.equal(await sendHeartbeat(`${s.url}/check-uuid`, "fail"), undefined);
    assert.deepEqual(s.hits, [
      { method: "GET", path: "/fail" },
      { method: "GET", path: "/check-uuid/fail" },
    ]);
  } finally {
    await s.close();
  }
});

Deno.test("sendHeartbeat: an HTTP error status is returned, not thrown", async () => {
  const s = server(404);
  try {
    const err = await sendHeartbeat(`${s.url}/x?secret=1`, "success");
    assert.match(err ?? "", /^heartbeat http:\/\/127\.0\.0\.1:\d+\/x: HTTP 404/);
    assert.ok(!err?.includes("secret"), "the query string is not logged");
  } finally {
    await s.close();
  }
});

Deno.test("sendHeartbeat: a dead server returns an error and does not throw", async () => {
  const s = server();
  const url = s.url;
  await s.close();
  const err = await sendHeartbeat(url, "success");
  assert.equal(typeof err, "string");
  assert.match(err!, /^heartbeat http:\/\/127\.0\.0\.1:\d+\/: /);
});

Deno.test("sendHeartbeat: a server that never answers times out", async () => {
  const never = Promise.withResolvers<Response>();
  const srv = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => never.promise,
  );
  try {
    const t0 = performance.now();
    const err = await sendHeartbeat(`http://127.0.0.1:${srv.addr.port}`, "fail", {
      timeoutMs: 150,
    });
    assert.match(err ?? "", /\/fail: no answer within 0\.15 s$/);
    assert.ok(performance.now() - t0 < 2000);
  } finally {
    never.resolve(new Response("late"));
    await srv.shutdown();
  }
});

Deno.test("sendHeartbeat: an invalid URL or a throwing fetch returns an error", async () => {
  assert.equal(await sendHeartbeat("::nope", "success"), "heartbeat URL is not a valid URL");
  const err = await sendHeartbeat("https://hc.example/x", "success", {
    fetch: () => Promise.reject(new TypeError("dns error: no such host")),
  });
  assert.equal(err, "heartbeat https://hc.example/x: dns error: no such host");
});
