/**
 * A graph whose batch dimension stays fixed (torch.onnx's default export: batch 1), served as it
 * is: a batch request is split into runs of the graph's own batch size at the edge — never a 500 —
 * and every item's probabilities equal onnxruntime-node's for that image alone, on the engine.
 * A graph fixed at batch 2 takes a batch of 3 as two runs, the last one filled.
 */
import { inject } from 'vitest';
import { describe, expect, it } from 'vitest';
import { publishVersion } from '../../shared/registry/publish.ts';
import { callWithVars, createExecutionContext, fromBase64, store } from './fixtures.ts';

interface BatchAnswer {
  results: { predictions: { label: string; score: number }[] }[];
}

describe('fixed-batch graphs at the edge', () => {
  const fx = inject('fixedBatch');

  const published = new Set<string>();
  /** The scores of a batch of the 3 images; the engine build, or onnxruntime-web on the full build. */
  const answer = async (m: (typeof fx.models)[number], engine = 'edgetune-wasm'): Promise<number[][]> => {
    const name = m.manifest.name;
    if (!published.has(name)) {
      await publishVersion(store(), name, {
        manifest: m.manifest,
        files: { 'model.onnx': fromBase64(m.model) },
      });
      published.add(name);
    }
    const labels = m.manifest.labels;
    const ort = engine === 'onnxruntime-web';
    const res = await callWithVars(
      ort ? { ENGINE: 'onnxruntime' } : {},
      `/v1/models/${name}/classify?top_k=${labels.length}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ images: fx.images }),
      },
      createExecutionContext(),
      ort ? 'full' : 'engine',
    );
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(res.headers.get('x-engine')).toBe(engine);
    const body = JSON.parse(text) as BatchAnswer;
    expect(body.results).toHaveLength(3);
    // Scores back in label order, per item.
    return body.results.map((r) => {
      expect(r.predictions).toHaveLength(labels.length);
      const byLabel = new Map(r.predictions.map((p) => [p.label, p.score]));
      return labels.map((l) => byLabel.get(l)!);
    });
  };

  const maxDiff = (got: number[][], want: number[][]) =>
    Math.max(...got.flatMap((row, i) => row.map((v, k) => Math.abs(v - want[i]![k]!))));

  it('MobileNetV3-Small as torch.onnx exported it (batch 1): a batch of 3 answers 200 on the engine, equal to onnxruntime-node', async () => {
    const m = fx.models.find((x) => x.fixture === 'mobilenet_v3_small' && x.batch === 1)!;
    expect(maxDiff(await answer(m), m.references)).toBeLessThanOrEqual(1e-4);
  });

  for (const batch of [1, 2]) {
    it(`ResNet-18 fixed at batch ${batch}: each of 3 different images gets its own scores`, async () => {
      const m = fx.models.find((x) => x.fixture === 'resnet18' && x.batch === batch)!;
      // The references tell the images apart, so a swapped or padded item cannot pass.
      expect(
        maxDiff([m.references[0]!, m.references[0]!], [m.references[1]!, m.references[2]!]),
      ).toBeGreaterThan(0.01);
      expect(maxDiff(await answer(m), m.references)).toBeLessThanOrEqual(1e-4);
      // onnxruntime-web enforces the fixed batch: it only answers when the edge sends exactly that.
      expect(maxDiff(await answer(m, 'onnxruntime-web'), m.references)).toBeLessThanOrEqual(1e-4);
    });
  }
});
