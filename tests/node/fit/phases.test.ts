/**
 * The refit's helpers: training and validation rows joined in order, whether the activations are
 * in memory or read from disk row by row, and the refit's epoch count.
 */
import { describe, expect, it } from 'vitest';
import type { RowSource, TensorData } from '../../../training/fit/loop.ts';
import { joinData, REFIT_EPOCH_FACTOR, refitEpochs } from '../../../training/fit/phases.ts';

const itemShape = [2, 3];
const size = 6;

function data(rows: number, first: number): { memory: TensorData; source: TensorData } {
  const x = Float32Array.from({ length: rows * size }, (_, i) => first + i);
  const y = Int32Array.from({ length: rows }, (_, i) => (first + i) % 3);
  const source: RowSource = {
    rows,
    read: (row, out, offset) => out.set(x.subarray(row * size, (row + 1) * size), offset),
  };
  return { memory: { x, y, itemShape }, source: { x: source, y, itemShape } };
}

function rowsOf(d: TensorData): number[][] {
  const n = d.y.length;
  const out: number[][] = [];
  for (let r = 0; r < n; r++) {
    const buf = new Float32Array(size);
    if (d.x instanceof Float32Array) buf.set(d.x.subarray(r * size, (r + 1) * size));
    else d.x.read(r, buf, 0);
    out.push([...buf]);
  }
  return out;
}

describe('joinData', () => {
  const a = data(3, 0);
  const b = data(2, 100);
  const expected = [...rowsOf(a.memory), ...rowsOf(b.memory)];

  it('joins in-memory rows into one array, the first set first', () => {
    const j = joinData(a.memory, b.memory);
    expect(j.x).toBeInstanceOf(Float32Array);
    expect(rowsOf(j)).toEqual(expected);
    expect([...j.y]).toEqual([...a.memory.y, ...b.memory.y]);
    expect(j.itemShape).toEqual(itemShape);
  });

  it('reads through to either set when one is read from disk', () => {
    for (const j of [
      joinData(a.source, b.memory),
      joinData(a.memory, b.source),
      joinData(a.source, b.source),
    ]) {
      expect(j.x).not.toBeInstanceOf(Float32Array);
      expect((j.x as RowSource).rows).toBe(5);
      expect(rowsOf(j)).toEqual(expected);
      expect([...j.y]).toEqual([...a.memory.y, ...b.memory.y]);
    }
  });
});

describe('refitEpochs', () => {
  it('is the kept epochs times the factor, at least one', () => {
    expect(refitEpochs(7)).toBe(Math.round(7 * REFIT_EPOCH_FACTOR));
    expect(refitEpochs(0)).toBe(1);
  });
});
