import { BitReader, corrupt } from './bits.ts';
import { type Component, type Frame, type Scan, ZIGZAG } from './frame.ts';

/**
 * Zero bytes a reader may legitimately supply after the last real bits of an interval (its
 * lookahead); more means the entropy-coded data stopped early: a truncated or cut file.
 */
const MAX_PADDING = 8;

/**
 * Decodes one progressive scan's entropy-coded data starting at `offset` (T.81 annex G) into each
 * component's `coef`. Returns the offset of the marker after the scan. Sequential scans are
 * decoded by the WebAssembly kernels (codecs/jpeg/scan.ts), block by block into the planes.
 */
export function decodeScan(
  data: Uint8Array,
  offset: number,
  frame: Frame,
  scan: Scan,
  restartInterval: number,
): number {
  const reader = new BitReader(data, offset);
  const { components, ss, se, ah, al } = scan;
  let eobrun = 0;

  const progressive = (c: Component, row: number, col: number): void => {
    const coef = c.coef!;
    const at = (row * c.blocksPerLine + col) * 64;
    if (ss === 0) {
      if (ah === 0) {
        const t = reader.decode(c.dcTable!);
        c.pred += t === 0 ? 0 : reader.receiveExtend(t);
        coef[at] = c.pred * (1 << al);
      } else if (reader.bit()) {
        coef[at] = coef[at]! | (1 << al);
      }
      return;
    }
    if (ah === 0) {
      if (eobrun > 0) {
        eobrun--;
        return;
      }
      for (let k = ss; k <= se; ) {
        const rs = reader.decode(c.acTable!);
        const s = rs & 15;
        const r = rs >> 4;
        if (s === 0) {
          if (r < 15) {
            eobrun = (1 << r) - 1 + reader.bits(r);
            break;
          }
          k += 16;
          continue;
        }
        k += r;
        if (k > 63) throw corrupt('a block has more than 64 coefficients');
        coef[at + ZIGZAG[k]!] = reader.receiveExtend(s) * (1 << al);
        k++;
      }
      return;
    }
    refineAc(c, at, coef);
  };

  // Successive approximation of AC coefficients (libjpeg's decode_mcu_AC_refine).
  const refineAc = (c: Component, at: number, coef: Int16Array): void => {
    const p1 = 1 << al;
    const m1 = -1 << al;
    let k = ss;
    if (eobrun === 0) {
      for (; k <= se; k++) {
        const rs = reader.decode(c.acTable!);
        let r = rs >> 4;
        let s = rs & 15;
        if (s !== 0) {
          if (s !== 1) throw corrupt('bad refinement coefficient');
          s = reader.bit() ? p1 : m1;
        } else if (r !== 15) {
          eobrun = (1 << r) + reader.bits(r);
          break;
        }
        while (k <= se) {
          const z = at + ZIGZAG[k]!;
          const value = coef[z]!;
          if (value !== 0) {
            if (reader.bit() && (value & p1) === 0) coef[z] = value >= 0 ? value + p1 : value + m1;
          } else {
            if (r === 0) break;
            r--;
          }
          k++;
        }
        if (s !== 0 && k <= se) coef[at + ZIGZAG[k]!] = s;
      }
    }
    if (eobrun > 0) {
      for (; k <= se; k++) {
        const z = at + ZIGZAG[k]!;
        const value = coef[z]!;
        if (value !== 0 && reader.bit() && (value & p1) === 0) coef[z] = value >= 0 ? value + p1 : value + m1;
      }
      eobrun--;
    }
  };

  const decodeBlock = progressive;
  const resetInterval = (): void => {
    if (reader.padded > MAX_PADDING)
      throw corrupt('truncated: the compressed data ends before the last block');
    for (const c of components) c.pred = 0;
    eobrun = 0;
  };

  let mcu = 0;
  const beginMcu = (): void => {
    if (restartInterval > 0 && mcu > 0 && mcu % restartInterval === 0) {
      resetInterval();
      reader.restart();
      reader.padded = 0;
    }
    mcu++;
  };

  if (components.length === 1) {
    // Non-interleaved: one block per MCU, only the blocks that hold image data.
    const c = components[0]!;
    for (let row = 0; row < c.blocksHigh; row++) {
      for (let col = 0; col < c.blocksWide; col++) {
        beginMcu();
        decodeBlock(c, row, col);
      }
    }
  } else {
    for (let my = 0; my < frame.mcusPerColumn; my++) {
      for (let mx = 0; mx < frame.mcusPerLine; mx++) {
        beginMcu();
        for (const c of components) {
          for (let v = 0; v < c.v; v++) {
            for (let h = 0; h < c.h; h++) decodeBlock(c, my * c.v + v, mx * c.h + h);
          }
        }
      }
    }
  }
  if (reader.padded > MAX_PADDING) throw corrupt('truncated: the compressed data ends before the last block');
  return reader.end();
}
