import type { Dataset } from './types.ts';

/**
 * sha256 (hex) over the sorted lines "<sample id> <label name>\n": the same images with the same
 * labels give the same digest whatever their order, file names or format. Recorded in manifests.
 */
export async function datasetDigest(ds: Dataset): Promise<string> {
  const lines = ds.samples.map((s) => `${s.id} ${ds.labels[s.label]}\n`).sort();
  const bytes = new TextEncoder().encode(lines.join(''));
  const hash = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, '0')).join('');
}
