/**
 * S3 lists keys in the byte order of their UTF-8 encoding, which is code point order.
 * JavaScript compares strings by UTF-16 code units, which differs where a character above
 * U+FFFF (a surrogate pair, 0xD800–0xDFFF) meets one in U+E000–U+FFFF: UTF-16 puts the pair
 * first, UTF-8 after. Merging a walk with a listing needs S3's order, without encoding every key.
 */

/** A code unit's rank in code point order: surrogates move above U+E000–U+FFFF. */
function rank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

/** Negative, zero or positive as `a` sorts before, with or after `b` in S3's (UTF-8 byte) order. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return x < 0xd800 && y < 0xd800 ? x - y : rank(x) - rank(y);
  }
  return a.length - b.length;
}
