import { describe, expect, it } from 'vitest';
import { resizeTriangle, TriangleResizer } from '../../../shared/preprocess/resize-triangle.ts';
import { rgbaOnWhite, rgbaOnWhiteInPlace } from '../../../shared/preprocess/resize-wasm.ts';

/** Deterministic pseudo-random bytes (xorshift), so a failure reproduces. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 255;
  }
  return out;
}

/**
 * The TypeScript loops on the same values: float input takes them (the kernels take 8-bit rows),
 * and a Float64Array holds every byte exactly, so the reference sums are the same numbers.
 */
function reference(
  width: number,
  height: number,
  channels: number,
  data: Uint8Array,
  ow: number,
  oh: number,
) {
  return resizeTriangle({ width, height, channels, data: Float64Array.from(data) }, ow, oh);
}

/** Equal bit patterns (Buffer.compare: toEqual on large typed arrays takes seconds). */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  return (
    a.length === b.length &&
    Buffer.compare(
      Buffer.from(a.buffer, a.byteOffset, a.byteLength),
      Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    ) === 0
  );
}

describe('triangle resize in WebAssembly', () => {
  // Shrinks by large and odd factors, enlargements, one axis only, 1×N edges, every channel count
  // the kernels have a loop for (RGB; 1, 2, 4 through the general one, odd row counts included).
  const cases: [number, number, number, number, number][] = [
    [1008, 756, 3, 224, 224],
    [640, 480, 3, 224, 224],
    [451, 300, 3, 224, 224],
    [37, 23, 3, 224, 224],
    [300, 17, 3, 7, 31],
    [1, 1, 3, 5, 3],
    [97, 61, 1, 28, 28],
    [20, 20, 1, 28, 28],
    [333, 95, 1, 224, 224],
    [64, 41, 2, 13, 9],
    [129, 77, 4, 40, 39],
    [5, 1, 4, 2, 3],
  ];
  it.each(cases)('%i×%i×%i → %i×%i: bit-identical to the TypeScript loops', (w, h, c, ow, oh) => {
    const data = bytes(w * h * c, w * 7919 + h * 31 + c);
    const ours = resizeTriangle({ width: w, height: h, channels: c, data }, ow, oh);
    const ref = reference(w, h, c, data, ow, oh);
    expect(ours.length).toBe(ow * oh * c);
    expect(sameBits(ours, ref)).toBe(true);
  });

  it('rows fed in uneven bands give the same bits as one call, and instances are reused', () => {
    const [w, h, c] = [777, 1203, 3];
    const data = bytes(w * h * c, 5);
    const whole = resizeTriangle({ width: w, height: h, channels: c, data }, 224, 224);
    for (const band of [1, 16, 113, h]) {
      const r = new TriangleResizer(w, h, c, 224, 224);
      for (let y = 0; y < h; y += band) {
        const n = Math.min(band, h - y);
        r.addRows(data.subarray(y * w * c, (y + n) * w * c), n);
      }
      expect(sameBits(r.finish(), whole)).toBe(true);
      // Its memory went back to the pool: it cannot be read or written again.
      expect(() => r.finish()).toThrow(/finished/);
    }
  });

  it('two resizes open at once do not share memory', () => {
    const a = bytes(300 * 200 * 3, 1);
    const b = bytes(300 * 200 * 3, 2);
    const ra = new TriangleResizer(300, 200, 3, 50, 40);
    const rb = new TriangleResizer(300, 200, 3, 50, 40);
    ra.addRows(a.subarray(0, 300 * 100 * 3), 100);
    rb.addRows(b, 200);
    ra.addRows(a.subarray(300 * 100 * 3), 100);
    expect(sameBits(ra.finish(), reference(300, 200, 3, a, 50, 40))).toBe(true);
    expect(sameBits(rb.finish(), reference(300, 200, 3, b, 50, 40))).toBe(true);
  });

  it('refuses mixed sample kinds and missing rows', () => {
    const r = new TriangleResizer(4, 4, 1, 2, 2);
    r.addRows(new Uint8Array(8), 2);
    expect(() => r.addRows(new Float32Array(8), 2)).toThrow(RangeError);
    expect(() => r.finish()).toThrow(/2 of 4 rows/);
  });
});

describe('RGBA on white in WebAssembly', () => {
  it('equals the integer formula for every alpha, opaque runs and ragged ends included', () => {
    for (const n of [1, 3, 4, 5, 257, 4096 + 3]) {
      const rgba = bytes(n * 4, n);
      // Half the pixels opaque, in runs, so the four-at-a-time path and the per-pixel one both run.
      for (let p = 0; p < n; p++) if ((p >> 3) % 2 === 0) rgba[p * 4 + 3] = 255;
      const want = new Uint8Array(n * 3);
      for (let p = 0; p < n; p++) {
        const a = rgba[p * 4 + 3]!;
        for (let c = 0; c < 3; c++)
          want[p * 3 + c] = Math.floor((rgba[p * 4 + c]! * a + 255 * (255 - a) + 127) / 255);
      }
      expect(Buffer.compare(rgbaOnWhite(rgba), want), `${n} pixels`).toBe(0);
      // In place: the same bytes, over the front of the RGBA buffer itself.
      const inPlace = rgbaOnWhiteInPlace(rgba);
      expect(inPlace.buffer, `${n} pixels in place`).toBe(rgba.buffer);
      expect(Buffer.compare(inPlace, want), `${n} pixels in place`).toBe(0);
    }
    const every = new Uint8Array(256 * 4).map((_, i) => (i % 4 === 3 ? i >> 2 : 200));
    expect(Array.from(rgbaOnWhite(every).filter((_, i) => i % 3 === 0))).toEqual(
      Array.from({ length: 256 }, (_, a) => Math.floor((200 * a + 255 * (255 - a) + 127) / 255)),
    );
  });
});
