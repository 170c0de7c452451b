/**
 * The scratch CNN's input side: the backbone's side capped at 64 px, and never above the largest
 * labelled image (upscaling 20-px digits to 64 px only multiplied the cost); above 32 px the
 * network reduces its input.
 */
import { describe, expect, it } from 'vitest';
import {
  BASELINE_MAX_SIDE,
  baselineSpec,
  scratchReducesInput,
  scratchSide,
} from '../../../training/fit/baseline.ts';
import type { RawImage } from '../../../shared/preprocess/types.ts';

const image = (width: number, height: number): RawImage => ({
  width,
  height,
  channels: 1,
  data: new Uint8Array(width * height),
});

describe('scratchSide', () => {
  it('keeps the capped backbone side for images at least that large', () => {
    expect(scratchSide(224, [image(300, 200), image(64, 64)])).toBe(BASELINE_MAX_SIDE);
    expect(scratchSide(28, [image(28, 28)])).toBe(28);
  });
  it('does not upscale beyond the largest image (its longer side)', () => {
    expect(scratchSide(224, [image(20, 20), image(20, 20)])).toBe(20);
    expect(scratchSide(224, [image(20, 20), image(40, 24)])).toBe(40);
    expect(scratchSide(28, [image(20, 20)])).toBe(20);
  });
  it('falls back to the capped backbone side without images', () => {
    expect(scratchSide(224, [])).toBe(BASELINE_MAX_SIDE);
    expect(scratchSide(32, [])).toBe(32);
  });
  it('is the side of the baseline preprocessing', () => {
    const spec = baselineSpec(scratchSide(224, [image(20, 20)]), 3);
    expect([spec.width, spec.height, spec.channels]).toEqual([20, 20, 3]);
  });
});

describe('scratchReducesInput', () => {
  it('reduces photo-sized input only: 20- and 28-px tasks train as small-cnn describes', () => {
    expect(scratchReducesInput(scratchSide(224, [image(300, 200)]))).toBe(true);
    expect(scratchReducesInput(33)).toBe(true);
    expect(scratchReducesInput(32)).toBe(false);
    expect(scratchReducesInput(scratchSide(28, [image(28, 28)]))).toBe(false);
    expect(scratchReducesInput(scratchSide(224, [image(20, 20)]))).toBe(false);
  });
});
