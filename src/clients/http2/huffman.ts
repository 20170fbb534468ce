// HPACK's static Huffman code (RFC 7541 §5.2, Appendix B): decoding header strings a peer sent
// Huffman-coded, and encoding (tests; the client sends its literals raw). Pure functions over
// bytes; never allocates per symbol. Hand-written because the client's HPACK is its own (see
// connection.ts); the code table is kept as one code length per symbol, and the codes follow
// from the lengths because the RFC's code is canonical (same-length codes in symbol order).

/** Code length per symbol 0…256 (256 = EOS), as `A` + (length − 5): lengths run 5…30 bits. */
const LENGTHS =
  'ISXXXXXXXTZXXZXXXXXXXXZXXXXXXXXXBFFHIBDGFFDGDBBBAAABBBBBBBCDKBHF' +
  'IBCCCCCCCCCCCCCCCCCCCCCCDCDIOIJBKABABABBBACCBBBABCBAABCCCCCKGJIX' +
  'PRPPRRRSRSSSSSTSTTRSTSSSSQRSRSSTRQPRRSSQSRRTQRSSQQRQSRSSPRRRSRRS' +
  'VVPORSRUVVVWWVTUOQVWWVWTQQVVXWWWPTPQRQQSRRUUTTVSVWVVWWWWWXWWWWWV' +
  'Z';
const EOS = 256;
const MIN_BITS = 5;
const MAX_BITS = 30;

/** Code length and code (right-aligned) per symbol. */
const codeLength = new Uint8Array(257);
const code = new Uint32Array(257);
/** Canonical decoding tables per length: first code, symbol count, offset into `sorted`. */
const firstCode = new Int32Array(MAX_BITS + 1);
const countAt = new Int32Array(MAX_BITS + 1);
const offsetAt = new Int32Array(MAX_BITS + 1);
const sorted = new Uint16Array(257);

(function build(): void {
  for (let s = 0; s <= EOS; s++) codeLength[s] = LENGTHS.charCodeAt(s) - 65 + MIN_BITS;
  const order = Array.from({ length: 257 }, (_, s) => s).sort(
    (a, b) => (codeLength[a] ?? 0) - (codeLength[b] ?? 0) || a - b,
  );
  let next = 0;
  let prevLen = codeLength[order[0] ?? 0] ?? MIN_BITS;
  let i = 0;
  for (const s of order) {
    const len = codeLength[s] ?? MIN_BITS;
    next <<= len - prevLen;
    prevLen = len;
    if (countAt[len] === 0) {
      firstCode[len] = next;
      offsetAt[len] = i;
    }
    countAt[len] = (countAt[len] ?? 0) + 1;
    code[s] = next;
    sorted[i++] = s;
    next++;
  }
})();

/** Thrown (and turned into COMPRESSION_ERROR by the caller) for an invalid Huffman string. */
export class HuffmanError extends RangeError {}

let scratch = new Uint8Array(256);

/**
 * Decodes `src[start, end)` to a latin1 string. Rejects an EOS symbol, padding longer than
 * 7 bits and padding that is not the EOS prefix (all ones), as RFC 7541 §5.2 requires.
 */
export function huffmanDecode(src: Uint8Array, start: number, end: number): string {
  const need = (end - start) * 2;
  if (scratch.length < need) scratch = new Uint8Array(need);
  const out = scratch;
  let n = 0;
  let acc = 0; // the current code's bits so far
  let len = 0; // how many
  for (let p = start; p < end; p++) {
    const byte = src[p] ?? 0;
    for (let bit = 7; bit >= 0; bit--) {
      acc = (acc << 1) | ((byte >> bit) & 1);
      len++;
      if (len < MIN_BITS) continue;
      const idx = acc - (firstCode[len] ?? 0);
      if (idx >= 0 && idx < (countAt[len] ?? 0)) {
        const sym = sorted[(offsetAt[len] ?? 0) + idx] ?? EOS;
        if (sym === EOS) throw new HuffmanError('EOS symbol inside a Huffman string');
        out[n++] = sym;
        acc = 0;
        len = 0;
      } else if (len >= MAX_BITS) {
        throw new HuffmanError('invalid Huffman code');
      }
    }
  }
  if (len > 7) throw new HuffmanError('Huffman padding longer than 7 bits');
  if (acc !== (1 << len) - 1) throw new HuffmanError('Huffman padding is not the EOS prefix');
  return Buffer.from(out.buffer, out.byteOffset, n).toString('latin1');
}

/** Bytes `value` takes Huffman-coded (latin1 bytes). */
export function huffmanLength(value: string): number {
  let bits = 0;
  for (let i = 0; i < value.length; i++) bits += codeLength[value.charCodeAt(i) & 0xff] ?? 0;
  return (bits + 7) >> 3;
}

/** Huffman-codes `value` (latin1 bytes) into `dst` at `at`; returns the end offset. */
export function huffmanEncode(value: string, dst: Uint8Array, at: number): number {
  let acc = 0;
  let bits = 0;
  let p = at;
  for (let i = 0; i < value.length; i++) {
    const s = value.charCodeAt(i) & 0xff;
    const len = codeLength[s] ?? 0;
    const c = code[s] ?? 0;
    // At most 7 pending bits + 30 new ones: split so the accumulator stays under 32 bits.
    for (let left = len; left > 0;) {
      const take = Math.min(left, 24);
      left -= take;
      acc = (acc << take) | ((c >>> left) & ((1 << take) - 1));
      bits += take;
      while (bits >= 8) {
        bits -= 8;
        dst[p++] = (acc >>> bits) & 0xff;
      }
      acc &= (1 << bits) - 1;
    }
  }
  if (bits > 0) dst[p++] = ((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xff;
  return p;
}
