import { EdgetuneError } from '../../errors.ts';

/**
 * A canonical Huffman table (ITU T.81 Annex C) with an 8-bit lookahead: codes of up to 8 bits
 * resolve in one table read, longer ones walk maxcode per length (libjpeg's jpeg_huff_decode).
 */
export interface HuffmanTable {
  /** Index = next 8 bits; value = (code length << 8) | symbol, 0 when the code is longer. */
  lookahead: Uint16Array;
  /** Largest code of each length 1..16 (−1 when none), and 0x7fffffff past 16 as a sentinel. */
  maxcode: Int32Array;
  /** values index of the first code of each length, minus that code. */
  valoffset: Int32Array;
  values: Uint8Array;
  /**
   * AC fast path (libjpeg-turbo's "lookahead with value"): index = next FAST_BITS bits; when a code and
   * its magnitude bits both fit in them, the entry is (value << 8) | (run << 4) | bits consumed,
   * so the common small coefficient costs one table read. 0 = take the normal path (EOB, ZRL,
   * longer codes, large values).
   */
  fastAc: Int32Array;
}

/** Kept equal to FAST_BITS in codecs/jpeg/scan.ts (the kernels read the table built here). */
export const FAST_BITS = 11;

export function buildHuffmanTable(counts: Uint8Array, values: Uint8Array): HuffmanTable {
  const maxcode = new Int32Array(18).fill(-1);
  const valoffset = new Int32Array(17);
  const lookahead = new Uint16Array(256);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    const n = counts[len - 1]!;
    valoffset[len] = k - code;
    for (let i = 0; i < n; i++, k++, code++) {
      if (len <= 8) {
        const shift = 8 - len;
        const base = code << shift;
        for (let j = 0; j < 1 << shift; j++) lookahead[base + j] = (len << 8) | values[k]!;
      }
    }
    if (n > 0) maxcode[len] = code - 1;
    // A code that overflows its length means the counts are impossible (a corrupt DHT).
    if (code > 1 << len) throw corrupt('a Huffman table has more codes than its lengths allow');
    code <<= 1;
  }
  maxcode[17] = 0x7fffffff;
  return { lookahead, maxcode, valoffset, values, fastAc: fastAcTable(lookahead) };
}

function fastAcTable(lookahead: Uint16Array): Int32Array {
  const fast = new Int32Array(1 << FAST_BITS);
  for (let peek = 0; peek < 1 << FAST_BITS; peek++) {
    const hit = lookahead[peek >> (FAST_BITS - 8)]!;
    const len = hit >> 8;
    const rs = hit & 0xff;
    const size = rs & 15;
    if (len === 0 || size === 0 || len + size > FAST_BITS) continue;
    const raw = (peek >> (FAST_BITS - len - size)) & ((1 << size) - 1);
    const value = raw < 1 << (size - 1) ? raw - (1 << size) + 1 : raw;
    fast[peek] = (value << 8) | ((rs >> 4) << 4) | (len + size);
  }
  return fast;
}

export function corrupt(detail: string): EdgetuneError {
  return new EdgetuneError('invalid_image', `corrupt JPEG: ${detail}`);
}

/**
 * Entropy-coded data reader. Stuffed bytes (FF 00) are unstuffed; at any other marker the reader
 * stops consuming and supplies zero bits, as libjpeg does, so a truncated scan decodes to grey
 * blocks instead of throwing — but it counts them, and the decoder refuses a file whose data ran
 * out long before its last block (see `starved`).
 */
export class BitReader {
  // Read directly by the sequential AC loop (scan.ts), which keeps them in locals per block.
  buf = 0;
  count = 0;
  /** Zero bytes supplied past the end of the segment. */
  padded = 0;
  constructor(
    readonly data: Uint8Array,
    public offset: number,
  ) {}

  private fill(): void {
    while (this.count <= 24) {
      let byte = 0;
      const d = this.data;
      if (this.offset < d.length && d[this.offset] !== 0xff) {
        byte = d[this.offset++]!;
      } else if (this.offset + 1 < d.length && d[this.offset + 1] === 0x00) {
        byte = 0xff;
        this.offset += 2;
      } else {
        this.padded++;
      }
      this.buf = (this.buf << 8) | byte;
      this.count += 8;
    }
  }

  bit(): number {
    if (this.count === 0) this.fill();
    this.count--;
    return (this.buf >>> this.count) & 1;
  }

  /** `n` (0..16) raw bits as an unsigned number. */
  bits(n: number): number {
    if (n === 0) return 0;
    if (this.count < n) this.fill();
    this.count -= n;
    return (this.buf >>> this.count) & ((1 << n) - 1);
  }

  /** The next FAST_BITS bits, without consuming them (see HuffmanTable.fastAc). */
  peekFast(): number {
    if (this.count < 16) this.fill();
    return (this.buf >>> (this.count - FAST_BITS)) & ((1 << FAST_BITS) - 1);
  }

  /** Drops `n` (0..16) bits: a coefficient nobody reads. */
  skip(n: number): void {
    if (this.count < n) this.fill();
    this.count -= n;
  }

  /** T.81 F.2.2.1 EXTEND: `n` bits as a signed coefficient. */
  receiveExtend(n: number): number {
    if (n === 0) return 0;
    const v = this.bits(n);
    return v < 1 << (n - 1) ? v - (1 << n) + 1 : v;
  }

  decode(table: HuffmanTable): number {
    if (this.count < 16) this.fill();
    const peek = (this.buf >>> (this.count - 8)) & 0xff;
    const hit = table.lookahead[peek]!;
    if (hit !== 0) {
      this.count -= hit >> 8;
      return hit & 0xff;
    }
    let len = 9;
    let code = (this.buf >>> (this.count - 9)) & 0x1ff;
    while (code > table.maxcode[len]!) {
      len++;
      if (len > 16) throw corrupt('bad Huffman code');
      code = (this.buf >>> (this.count - len)) & ((1 << len) - 1);
    }
    this.count -= len;
    const index = code + table.valoffset[len]!;
    if (index < 0 || index >= table.values.length) throw corrupt('bad Huffman code');
    return table.values[index]!;
  }

  /** Drops buffered bits and moves past an RSTn marker, if the data has one here. */
  restart(): void {
    this.buf = 0;
    this.count = 0;
    const d = this.data;
    // Skip fill bytes and any garbage until the next marker.
    while (this.offset < d.length && !(d[this.offset] === 0xff && d[this.offset + 1] !== 0x00)) this.offset++;
    while (this.offset < d.length && d[this.offset] === 0xff && d[this.offset + 1] === 0xff) this.offset++;
    if (this.offset + 1 < d.length && d[this.offset + 1]! >= 0xd0 && d[this.offset + 1]! <= 0xd7)
      this.offset += 2;
  }

  /** Position of the marker that ends this scan (for the marker loop to continue from). */
  end(): number {
    const d = this.data;
    let o = this.offset;
    while (o < d.length && !(d[o] === 0xff && d[o + 1] !== 0x00 && !(d[o + 1]! >= 0xd0 && d[o + 1]! <= 0xd7)))
      o++;
    return o;
  }
}
