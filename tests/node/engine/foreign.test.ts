/**
 * The engine on real torch.onnx exports (tests/fixtures/foreign): what users bring, unedited
 * except for a dynamic height/width fixed to a size, compared with onnxruntime-node.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadKernelModules } from '../../../engine/node-kernels.ts';
import { createEngineSession, supports } from '../../../shared/engine/index.ts';
import { decodeModel } from '../../../shared/onnx/proto.ts';
import { withInputShape } from '../../../shared/onnx/input-shape.ts';
import { seededInput } from '../../fixtures/engine-models.ts';
import { maxAbsDiff, ortRun } from './helpers.ts';

const DIR = path.resolve(import.meta.dirname, '../../fixtures/foreign');

// [file, input dims for a batch of 2 (1 where the export fixed it)]
const CASES: [string, number[]][] = [
  ['mobilenet_v2.onnx', [2, 3, 96, 96]],
  ['mobilenet_v3_small.onnx', [1, 3, 96, 96]],
  ['resnet18.onnx', [2, 3, 64, 64]],
  ['efficientnet_b0.onnx', [2, 3, 96, 96]],
  ['nhwc.onnx', [2, 96, 96, 3]],
  ['opset9.onnx', [2, 3, 64, 64]],
];

describe('engine on torch.onnx exports', () => {
  for (const [file, dims] of CASES) {
    it(`${file} matches onnxruntime-node to 1e-4`, async () => {
      const source = decodeModel(new Uint8Array(fs.readFileSync(path.join(DIR, file))));
      const model = withInputShape(source, dims.slice(1));
      expect(supports(model)).toEqual({ ok: true, unsupported: [] });
      const x = seededInput(
        7,
        dims.reduce((a, b) => a * b, 1),
      );
      const feeds = { input: { data: x, dims } };
      const ref = await ortRun(source, feeds);
      const session = await createEngineSession(model, loadKernelModules({ relaxed: false }));
      const out = session.runSync(feeds);
      expect(out.logits!.dims).toEqual(ref.logits!.dims);
      expect(maxAbsDiff(out.logits!.data, ref.logits!.data)).toBeLessThan(1e-4);
    });
  }
});
