/** Whole writes to stdout and stderr (a report is never cut short by a partial write). */
const encoder = new TextEncoder();

function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let off = 0;
  while (off < bytes.length) off += stream.writeSync(bytes.subarray(off));
}

export const stdout = (text: string): void => writeAll(Deno.stdout, text);
export const stderr = (text: string): void => writeAll(Deno.stderr, text);
