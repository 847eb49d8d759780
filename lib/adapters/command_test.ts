import assert from "node:assert/strict";
import { denoCommands, maskSecrets, STDERR_LINES, TailBuffer } from "./command.ts";

const commands = denoCommands(300);
const LONG = 60_000;

async function text(chunks: AsyncIterable<Uint8Array>): Promise<string> {
  let out = "";
  const dec = new TextDecoder();
  for await (const c of chunks) out += dec.decode(c, { stream: true });
  return out;
}

Deno.test("a command's stdout is read as it is written; its exit code and stderr come after", async () => {
  const c = commands.start(
    ["sh", "-c", 'printf "one\\ntwo\\n"; echo "warning: x" >&2; exit 0'],
    { stdout: "piped", timeoutMs: LONG },
  );
  assert.equal(await text(c.stdout), "one\ntwo\n");
  assert.deepEqual(await c.exit, {
    code: 0,
    signal: undefined,
    timedOut: false,
    stderrTail: ["warning: x"],
  });
});

Deno.test("argv is passed as is, without a shell; the environment is passed through", async () => {
  Deno.env.set("S3BACKUP_TEST_VALUE", "from-the-env");
  try {
    const c = commands.start(
      ["sh", "-c", 'printf "%s|%s" "$1" "$S3BACKUP_TEST_VALUE"', "sh", "a b; $(rm -rf /) *"],
      { stdout: "piped", timeoutMs: LONG },
    );
    assert.equal(await text(c.stdout), "a b; $(rm -rf /) *|from-the-env");
    assert.equal((await c.exit).code, 0);
  } finally {
    Deno.env.delete("S3BACKUP_TEST_VALUE");
  }
});

Deno.test("a failing command: its code and the last lines of stderr, capped", async () => {
  const c = commands.start(
    ["sh", "-c", 'for i in $(seq 1 50); do echo "line $i" >&2; done; exit 3'],
    { stdout: "discard", timeoutMs: LONG },
  );
  const exit = await c.exit;
  assert.equal(exit.code, 3);
  assert.equal(exit.stderrTail.length, STDERR_LINES);
  assert.equal(exit.stderrTail.at(-1), "line 50");
  assert.equal(exit.stderrTail[0], `line ${51 - STDERR_LINES}`);
});

Deno.test("a command past its timeout is killed (SIGTERM) and says so", async () => {
  const t0 = performance.now();
  const c = commands.start(["sleep", "30"], { stdout: "piped", timeoutMs: 200 });
  assert.equal(await text(c.stdout), "");
  const exit = await c.exit;
  assert.equal(exit.timedOut, true);
  assert.equal(exit.signal, "SIGTERM");
  assert.ok(performance.now() - t0 < 5000);
});

Deno.test("one that ignores SIGTERM gets SIGKILL after the grace period", async () => {
  const t0 = performance.now();
  const c = commands.start(
    ["sh", "-c", 'trap "" TERM; echo started >&2; while :; do sleep 0.05; done'],
    { stdout: "piped", timeoutMs: 300 },
  );
  const out = text(c.stdout).then((t) => `ended: ${t}`, (e: Error) => e.message);
  const exit = await c.exit;
  assert.equal(exit.signal, "SIGKILL");
  assert.equal(exit.timedOut, true);
  assert.deepEqual(exit.stderrTail, ["started"]);
  // Its stdout ends although the loop's last sleep (which ignores SIGTERM too) may hold it.
  assert.match(await out, /^(ended: |its output was cut off: the pipe stayed open after it ended)/);
  assert.ok(performance.now() - t0 < 5000, `${performance.now() - t0} ms`);
});

Deno.test("the run's signal kills a running command", async () => {
  const ctl = new AbortController();
  const c = commands.start(["sleep", "30"], {
    stdout: "discard",
    timeoutMs: LONG,
    signal: ctl.signal,
  });
  setTimeout(() => ctl.abort("SIGINT"), 100);
  const exit = await c.exit;
  assert.equal(exit.signal, "SIGTERM");
  assert.equal(exit.timedOut, false);
});

Deno.test("a program that does not exist: an exit that says so, nothing thrown", async () => {
  const c = commands.start(["/nonexistent/pg_dump", "x"], { stdout: "piped", timeoutMs: LONG });
  assert.equal(await text(c.stdout), "");
  assert.deepEqual(await c.exit, {
    timedOut: false,
    startError: "command not found: /nonexistent/pg_dump",
    stderrTail: [],
  });
});

Deno.test("TailBuffer: last lines, each cut, blank lines dropped, a last line without newline kept", () => {
  const t = new TailBuffer(3, 9);
  t.push("a\n\nb\r\nc");
  t.push("ontinued and long\nd\n");
  t.push("e");
  assert.deepEqual(t.lines(), ["continued…", "d", "e"]);
});

Deno.test("maskSecrets: secret environment values and URL passwords never reach a report", () => {
  const env = { PGPASSWORD: "hunter22", MYSQL_PWD: "pw", HOME: "/root", API_TOKEN: "tok-123" };
  assert.equal(
    maskSecrets(
      "auth failed for hunter22 at postgres://u:hunter22@db/x with tok-123 in /root",
      env,
    ),
    "auth failed for *** at postgres://***@db/x with *** in /root",
  );
});
