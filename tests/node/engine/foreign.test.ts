/**
 * The engine on real torch.onnx exports (tests/fixtures/foreign): what users bring, unedited
 * except for a dynamic height/width fixed to a size, compared with onnxruntime-node.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadKernelModules } from '../../../kernels/node-kernels.ts';
import { createEngineSession, supports } from '../../../shared/engine/index.ts';
import { float, GraphBuilder, int, ints } from '../../../shared/onnx/index.ts';
import { decodeModel } from '../../../shared/onnx/proto.ts';
import { withInputShape } from '../../../shared/onnx/input-shape.ts';
import { seededInput } from '../../../shared/onnx/zoo/mobilenetv2.ts';
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
      expect(supports(model)).toEqual({ ok: true, unsupported: [], problems: [] });
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

describe('engine ops torch exports use', () => {
  it('Div by a scalar and a per-channel constant, HardSigmoid with non-default alpha/beta', async () => {
    const g = new GraphBuilder({ name: 'div-hardsigmoid' });
    const x = g.input('x', ['N', 3, 9, 7]);
    const w = g.initializer('w', seededInput(1, 8 * 3 * 3 * 3), [8, 3, 3, 3]);
    const [c] = g.node('Conv', [x, w], ['c'], { pads: ints([1, 1, 1, 1]), group: int(1) });
    const two = g.initializer('two', Float32Array.of(2), []);
    const [d1] = g.node('Div', [c!, two], ['d1']);
    const per = g.initializer(
      'per',
      Float32Array.from({ length: 8 }, (_, i) => 0.5 + i / 4),
      [1, 8, 1, 1],
    );
    const [d2] = g.node('Div', [d1!, per], ['d2']);
    g.node('HardSigmoid', [d2!], ['y'], { alpha: float(0.3), beta: float(0.4) });
    g.output('y', ['N', 8, 9, 7]);
    const model = g.build();
    expect(supports(model)).toEqual({ ok: true, unsupported: [], problems: [] });
    const feeds = { x: { data: seededInput(2, 2 * 3 * 9 * 7), dims: [2, 3, 9, 7] } };
    const ref = await ortRun(model, feeds);
    const session = await createEngineSession(model, loadKernelModules({ relaxed: false }));
    const out = session.runSync(feeds);
    // Some values saturate at 0 and 1; the rest must match too.
    expect(Array.from(ref.y!.data).some((v) => v > 0 && v < 1)).toBe(true);
    expect(maxAbsDiff(out.y!.data, ref.y!.data)).toBeLessThan(1e-5);
  });

  it('refuses a Div by a computed tensor', () => {
    const g = new GraphBuilder({ name: 'div-tensor' });
    const x = g.input('x', ['N', 2, 3, 3]);
    g.node('Div', [x, x], ['y']);
    g.output('y', ['N', 2, 3, 3]);
    expect(supports(g.build()).unsupported).toEqual(['Div Div: the divisor must be a constant']);
  });
});
