/**
 * A small tmpfs mounted over a test folder: a real "no space left on device" (ENOSPC) for the
 * state store, not a simulated one. Needs root (CAP_SYS_ADMIN); tests skip, saying so, without it.
 */

function mount(args: string[]): { ok: boolean; why: string } {
  try {
    const out = new Deno.Command("mount", { args, stdout: "null", stderr: "piped" }).outputSync();
    return { ok: out.success, why: new TextDecoder().decode(out.stderr).trim() };
  } catch (err) {
    return { ok: false, why: (err as Error).message };
  }
}

/** Whether this process can mount a tmpfs (tried once, on a scratch folder). */
export const CAN_MOUNT_TMPFS: boolean = (() => {
  const dir = Deno.makeTempDirSync({ prefix: "s3b-tmpfs-probe-" });
  try {
    if (!mount(["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]).ok) return false;
    unmountTmpfs(dir);
    return true;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
})();

/** Mounts a tmpfs of `size` (e.g. "1m") over `dir`, which must exist. */
export function mountTmpfs(dir: string, size: string): void {
  const r = mount(["-t", "tmpfs", "-o", `size=${size},mode=0700`, "tmpfs", dir]);
  if (!r.ok) throw new Error(`mount tmpfs on ${dir}: ${r.why}`);
}

/** Resizes a mounted tmpfs, keeping its files (frees room without touching them). */
export function resizeTmpfs(dir: string, size: string): void {
  const r = mount(["-o", `remount,size=${size}`, dir]);
  if (!r.ok) throw new Error(`remount tmpfs on ${dir}: ${r.why}`);
}

export function unmountTmpfs(dir: string): void {
  new Deno.Command("umount", { args: ["--lazy", dir], stdout: "null", stderr: "null" })
    .outputSync();
}

/** Fills a mounted tmpfs to the last byte with one file; returns its path. */
export function fillTmpfs(dir: string): string {
  const path = `${dir}/filler`;
  const f = Deno.openSync(path, { create: true, write: true });
  try {
    const block = new Uint8Array(4096);
    for (;;) f.writeSync(block);
  } catch (err) {
    if ((err as { code?: string }).code !== "ENOSPC") throw err;
  } finally {
    f.close();
  }
  return path;
}
