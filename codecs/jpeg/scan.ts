// AssemblyScript. Entropy decoding of a sequential (baseline/extended) Huffman scan, every block
// inverse-transformed into its component plane as soon as it is complete: the same algorithm,
// bit reader and error conditions as shared/preprocess/jpeg/scan.ts and bits.ts (see there).

import { flatBlock, inverseDct } from './idct';
import { BLOCK, WRITTEN, ZIGZAG } from './layout';

// Huffman table slot (written by the host): lookahead u16[256], maxcode i32[18], valoffset i32[17],
// values u8[256], the number of values, fastAc i32[1 << FAST_BITS].
const H_MAXCODE = 512;
const H_VALOFFSET = 584;
const H_VALUES = 656;
const H_NVALUES = 912;
const H_FASTAC = 1024;
// The host's table (shared/preprocess/jpeg/bits.ts) is indexed by the same number of bits: 11 covers
// most coefficients of a q90 photo (an 8-bit code with 3 magnitude bits, a 5-bit one with 6).
const FAST_BITS = 11;

// Component descriptor (i32 fields, written by the host).
const C_H = 0;
const C_V = 4;
const C_BLOCKS_WIDE = 8;
const C_BLOCKS_HIGH = 12;
const C_NX = 16;
const C_NY = 20;
const C_PLANE = 24;
const C_STRIDE = 28;
const C_DC = 32;
const C_AC = 36;
const C_QUANT = 40;
const C_USED = 44;
const C_PRED = 48;
const C_LAST = 52; // the last zigzag index `used` marks (0: none), past which AC values are only skipped

export const ERR_HUFFMAN = -1;
export const ERR_TOO_MANY = -2;
export const ERR_TRUNCATED = -3;

/**
 * Zero bytes a reader may supply after the last real bits of an interval: its lookahead (the bit
 * buffer holds up to 63 bits, so at most 8 bytes are ever read ahead of the bits consumed).
 */
const MAX_PADDING = 8;

// The bit buffer: `count` valid bits, right-aligned in 64 (libjpeg-turbo's get_buffer). Every
// Huffman symbol with its extra bits takes at most 16 + 15 bits, so the decoder refills whenever
// fewer than 32 remain and then reads a symbol and its value without further checks.
let buf: u64 = 0;
let count: i32 = 0;
let off: usize = 0;
let end: usize = 0;
let padded: i32 = 0;
let err: i32 = 0;

const ONES: u64 = ((<u64>0x01010101) << 32) | 0x01010101;
const HIGHS: u64 = ONES << 7;
const REFILL_BELOW = 32;

/** The byte after `p`, or −1 past the end (a value that is neither 0x00 nor a marker code). */
function next(p: usize): i32 {
  return p + 1 < end ? <i32>load<u8>(p + 1) : -1;
}

/**
 * Byte by byte: FF 00 is a stuffed FF; at a marker (FF then anything else) or the end of the data
 * the reader stays put and supplies zero bytes, counting them (see MAX_PADDING).
 */
function fillSlow(): void {
  while (count <= 56) {
    let byte: u64 = 0;
    if (off < end && load<u8>(off) !== 0xff) {
      byte = <u64>load<u8>(off);
      off++;
    } else if (off + 1 < end && load<u8>(off + 1) === 0) {
      byte = 0xff;
      off += 2;
    } else {
      padded++;
    }
    buf = (buf << 8) | byte;
    count += 8;
  }
}

/**
 * Tops the buffer up to at least 56 bits. Usually the next 8 bytes hold no 0xFF (no stuffing, no
 * marker): then as many whole bytes as fit are taken from one big-endian 64-bit load. Only called
 * with count < 32, so at least 4 bytes fit and no shift reaches 64.
 */
function fill(): void {
  if (off + 8 <= end) {
    const x = bswap<u64>(load<u64>(off));
    // A byte of x is 0xFF exactly when that byte of ~x is zero (the classic has-zero-byte test).
    if (((~x - ONES) & x & HIGHS) === 0) {
      const n = (63 - count) >> 3;
      const nbits = <u64>(n << 3);
      buf = (buf << nbits) | (x >> (64 - nbits));
      off += <usize>n;
      count += n << 3;
      return;
    }
  }
  fillSlow();
}

function bits(n: i32): i32 {
  if (n === 0) return 0;
  if (count < REFILL_BELOW) fill();
  count -= n;
  return <i32>(buf >> <u64>count) & ((1 << n) - 1);
}

function extend(v: i32, n: i32): i32 {
  return v < 1 << (n - 1) ? v - (1 << n) + 1 : v;
}

function receiveExtend(n: i32): i32 {
  if (n === 0) return 0;
  return extend(bits(n), n);
}

/** Codes longer than the 8-bit lookahead: walk maxcode per length (libjpeg's jpeg_huff_decode). */
function decodeLong(t: usize): i32 {
  let len = 9;
  let code = <i32>(buf >> <u64>(count - 9)) & 0x1ff;
  while (code > load<i32>(t + H_MAXCODE + (len << 2))) {
    len++;
    if (len > 16) {
      err = ERR_HUFFMAN;
      return 0;
    }
    code = <i32>(buf >> <u64>(count - len)) & ((1 << len) - 1);
  }
  count -= len;
  const index = code + load<i32>(t + H_VALOFFSET + (len << 2));
  if (index < 0 || index >= load<i32>(t + H_NVALUES)) {
    err = ERR_HUFFMAN;
    return 0;
  }
  return load<u8>(t + H_VALUES + index);
}

function decode(t: usize): i32 {
  if (count < REFILL_BELOW) fill();
  const peek = <i32>(buf >> <u64>(count - 8)) & 0xff;
  const hit = <i32>load<u16>(t + (peek << 1));
  if (hit !== 0) {
    count -= hit >> 8;
    return hit & 0xff;
  }
  return decodeLong(t);
}

function restart(): void {
  buf = 0;
  count = 0;
  while (off < end && !(load<u8>(off) === 0xff && next(off) !== 0)) off++;
  while (off < end && load<u8>(off) === 0xff && next(off) === 0xff) off++;
  const m = next(off);
  if (off + 1 < end && m >= 0xd0 && m <= 0xd7) off += 2;
}

function scanEnd(): usize {
  let o = off;
  while (o < end) {
    const m = next(o);
    if (load<u8>(o) === 0xff && m !== 0 && !(m >= 0xd0 && m <= 0xd7)) break;
    o++;
  }
  return o;
}

/**
 * AC coefficients of one block into BLOCK (those `used` marks); returns how many were stored.
 * The bit buffer lives in locals here (the hot loop) and goes back to the globals around the
 * rare calls that use them.
 */
function decodeAc(ac: usize, used: usize, last: i32): i32 {
  const fastAc = ac + H_FASTAC;
  let nw = 0;
  let b = buf;
  let n = count;
  for (let k = 1; k < 64; ) {
    if (n < REFILL_BELOW) {
      // fill()'s fast path written out on the locals (the call and the spills cost more than it).
      const x = off + 8 <= end ? bswap<u64>(load<u64>(off)) : HIGHS;
      if (off + 8 <= end && ((~x - ONES) & x & HIGHS) === 0) {
        const bytes = (63 - n) >> 3;
        const nbits = <u64>(bytes << 3);
        b = (b << nbits) | (x >> (64 - nbits));
        off += <usize>bytes;
        n += bytes << 3;
      } else {
        buf = b;
        count = n;
        fillSlow();
        b = buf;
        n = count;
      }
    }
    const fast = load<i32>(fastAc + ((<i32>(b >> <u64>(n - FAST_BITS)) & ((1 << FAST_BITS) - 1)) << 2));
    if (fast !== 0) {
      n -= fast & 15;
      k += (fast >> 4) & 15;
      if (k > 63) {
        err = ERR_TOO_MANY;
        break;
      }
      if (k <= last && load<u8>(used + k) === 1) {
        const z = <i32>load<u8>(ZIGZAG + k);
        store<i32>(BLOCK + (z << 2), fast >> 8);
        store<i32>(WRITTEN + (nw << 2), z);
        nw++;
      }
      k++;
      continue;
    }
    let rs: i32;
    const hit = <i32>load<u16>(ac + ((<i32>(b >> <u64>(n - 8)) & 0xff) << 1));
    if (hit !== 0) {
      n -= hit >> 8;
      rs = hit & 0xff;
    } else {
      buf = b;
      count = n;
      rs = decodeLong(ac);
      n = count;
      if (err !== 0) break;
    }
    const s = rs & 15;
    const r = rs >> 4;
    if (s === 0) {
      if (r < 15) break;
      k += 16;
    } else {
      k += r;
      if (k > 63) {
        err = ERR_TOO_MANY;
        break;
      }
      n -= s;
      if (k <= last && load<u8>(used + k) === 1) {
        const z = <i32>load<u8>(ZIGZAG + k);
        store<i32>(BLOCK + (z << 2), extend(<i32>(b >> <u64>n) & ((1 << s) - 1), s));
        store<i32>(WRITTEN + (nw << 2), z);
        nw++;
      }
      k++;
    }
  }
  buf = b;
  count = n;
  return nw;
}

function decodeBlock(c: usize, row: i32, col: i32): void {
  const t = decode(load<i32>(c + C_DC));
  if (err !== 0) return;
  if (t > 15) {
    // No DC difference has more than 15 bits; a table that says so is corrupt.
    err = ERR_HUFFMAN;
    return;
  }
  const pred = load<i32>(c + C_PRED) + (t === 0 ? 0 : receiveExtend(t));
  store<i32>(c + C_PRED, pred);
  store<i32>(BLOCK, pred);
  const nw = decodeAc(load<i32>(c + C_AC), load<i32>(c + C_USED), load<i32>(c + C_LAST));
  if (err === 0) {
    const nx = load<i32>(c + C_NX);
    const ny = load<i32>(c + C_NY);
    const stride = load<i32>(c + C_STRIDE);
    const out = <usize>load<i32>(c + C_PLANE) + <usize>(row * ny * stride + col * nx);
    const quant = <usize>load<i32>(c + C_QUANT);
    if (nw === 0) {
      // The common flat block (all of it at 1/8; most luma blocks at 1/4): no IDCT call, no clean-up.
      flatBlock(pred, load<i32>(quant), nx, ny, out, stride);
      store<i32>(BLOCK, 0);
      return;
    }
    inverseDct(BLOCK, quant, nx, ny, out, stride, false);
  }
  for (let i = 0; i < nw; i++) store<i32>(BLOCK + (load<i32>(WRITTEN + (i << 2)) << 2), 0);
  store<i32>(BLOCK, 0);
}

/**
 * Decodes one sequential scan whose entropy-coded data starts at `start` (file bytes at
 * data..dataEnd); `comps` holds `ncomp` descriptor addresses in scan order. Returns the offset of
 * the marker after the scan (relative to data), or ERR_*.
 */
export function decodeSequential(
  data: usize,
  dataEnd: usize,
  start: usize,
  comps: usize,
  ncomp: i32,
  restartInterval: i32,
  mcusPerLine: i32,
  mcusPerColumn: i32,
): i32 {
  buf = 0;
  count = 0;
  off = data + start;
  end = dataEnd;
  padded = 0;
  err = 0;
  for (let i = 0; i < ncomp; i++) store<i32>(load<i32>(comps + (i << 2)) + C_PRED, 0);
  let mcu = 0;
  const c0 = <usize>load<i32>(comps);
  const single = ncomp === 1;
  const rows = single ? load<i32>(c0 + C_BLOCKS_HIGH) : mcusPerColumn;
  const cols = single ? load<i32>(c0 + C_BLOCKS_WIDE) : mcusPerLine;
  for (let my = 0; my < rows; my++) {
    for (let mx = 0; mx < cols; mx++) {
      if (restartInterval > 0 && mcu > 0 && mcu % restartInterval === 0) {
        if (padded > MAX_PADDING) return ERR_TRUNCATED;
        for (let i = 0; i < ncomp; i++) store<i32>(load<i32>(comps + (i << 2)) + C_PRED, 0);
        restart();
        padded = 0;
      }
      mcu++;
      if (single) {
        decodeBlock(c0, my, mx);
      } else {
        for (let i = 0; i < ncomp; i++) {
          const c = <usize>load<i32>(comps + (i << 2));
          const h = load<i32>(c + C_H);
          const v = load<i32>(c + C_V);
          for (let y = 0; y < v; y++) {
            for (let x = 0; x < h; x++) {
              decodeBlock(c, my * v + y, mx * h + x);
              if (err !== 0) return err;
            }
          }
        }
      }
      if (err !== 0) return err;
    }
  }
  if (padded > MAX_PADDING) return ERR_TRUNCATED;
  return <i32>(scanEnd() - data);
}
