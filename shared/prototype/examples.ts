/**
 * The stored embeddings of a prototype version's examples: raw little-endian float32, one row per
 * example in the manifest's `head.examples` order. Kept beside the model so that a later request
 * can add examples (or classes) without sending the earlier images again.
 */
import { EdgetuneError } from '../errors.ts';

export const EXAMPLES_FILE = 'prototype-examples.f32';

export function encodeEmbeddings(rows: readonly Float32Array[]): Uint8Array {
  const dim = rows[0]?.length ?? 0;
  const out = new Uint8Array(rows.length * dim * 4);
  const view = new DataView(out.buffer);
  rows.forEach((row, r) => {
    for (let d = 0; d < dim; d++) view.setFloat32((r * dim + d) * 4, row[d]!, true);
  });
  return out;
}

export function decodeEmbeddings(bytes: Uint8Array, count: number, dim: number): Float32Array[] {
  if (bytes.byteLength !== count * dim * 4) {
    throw new EdgetuneError(
      'corrupt',
      `${EXAMPLES_FILE} has ${bytes.byteLength} bytes; ${count} examples of ${dim} floats need ${count * dim * 4}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: count }, (_, r) =>
    Float32Array.from({ length: dim }, (_, d) => view.getFloat32((r * dim + d) * 4, true)),
  );
}
