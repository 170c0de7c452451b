/**
 * `--trainable N` on plain ONNX backbones, end to end through the CLI: every torch.onnx fixture
 * (tests/fixtures/foreign) trains with `--preprocess imagenet` and no metadata editing, the layers
 * after the cut are converted to tfjs, fine-tuned, exported back to ONNX, and the export passes
 * the parity gate on onnxruntime-node and on edgetune's engine. The first conv after the cut
 * really was re-trained: its exported weights differ from the backbone's, by a fine-tuning step
 * rather than a re-initialisation. (Serving a fine-tuned export in workerd is checked in
 * foreign-backbones.test.ts.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelManifestSchema } from '../../../shared/manifest/manifest.ts';
import { decodeModel, encodeModel, type ModelProto } from '../../../shared/onnx/proto.ts';
import { readTensorFloat32 } from '../../../shared/onnx/tensor.ts';
import { REPO_ROOT, runCli } from '../cli-helper.ts';

const FIXTURES = path.join(REPO_ROOT, 'tests', 'fixtures', 'foreign');

// [fixture, --trainable, extra flags, conv layers re-trained]: ResNet's last cut point is before
// its last residual block (two convs); the opset-9 export has a dynamic height and width;
// MobileNetV3-Small at 3 re-trains two blocks with depthwise convs and squeeze-excitation.
const CASES: [string, number, string[], number][] = [
  ['mobilenet_v2', 1, [], 1],
  ['mobilenet_v3_small', 1, [], 1],
  ['resnet18', 1, [], 2],
  ['efficientnet_b0', 1, [], 1],
  ['nhwc', 1, [], 1],
  ['opset9', 1, ['--input-size', '64x64'], 1],
  ['mobilenet_v3_small', 3, [], 6],
];
const caseId = (fixture: string, trainable: number) => `${fixture}-t${trainable}`;

interface Trained {
  code: number;
  stderr: string;
  parity?: number;
  boundary?: string;
  trainableConvs?: number;
  engines?: string[];
}

/** The weights of the first Conv reading `tensor`. */
function convWeightsReading(model: ModelProto, tensor: string): { data: Float32Array; dims: number[] } {
  const g = model.graph!;
  const conv = g.node!.find((n) => n.opType === 'Conv' && n.input?.[0] === tensor);
  expect(conv, `a Conv reading ${tensor}`).toBeDefined();
  const w = g.initializer!.find((t) => t.name === conv!.input![1]);
  expect(w, `initializer ${conv!.input![1]}`).toBeDefined();
  return { data: readTensorFloat32(w!), dims: (w!.dims ?? []).map(Number) };
}

describe('--trainable on torch.onnx exports: CLI → ONNX suffix in tfjs → export → parity gate', () => {
  let dir: string;
  const trained = new Map<string, Trained>();

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-byo-ft-'));
    for (const [fixture, trainable, flags] of CASES) {
      const id = caseId(fixture, trainable);
      const run = await runCli([
        'train',
        '--backbone',
        path.join(FIXTURES, `${fixture}.onnx`),
        '--preprocess',
        'imagenet',
        ...flags,
        '--trainable',
        String(trainable),
        '--data',
        'opencv-digits:per-class=4:classes=0-2',
        '--name',
        `ft-${id.replace(/_/g, '-')}`,
        '--epochs',
        '3',
        '--select',
        'transfer',
        '--out',
        path.join(dir, id),
        '--json',
      ]);
      const t: Trained = { code: run.code, stderr: run.stderr };
      if (run.code === 0) {
        const json = JSON.parse(run.stdout) as {
          parity: { maxAbsDiff: number };
          plan: { boundary: string; trainableConvs: number };
        };
        const manifest = ModelManifestSchema.parse(
          JSON.parse(fs.readFileSync(path.join(dir, id, 'manifest.json'), 'utf8')),
        );
        Object.assign(t, {
          parity: json.parity.maxAbsDiff,
          boundary: json.plan.boundary,
          trainableConvs: json.plan.trainableConvs,
          engines: manifest.engines,
        });
      }
      trained.set(id, t);
    }
  }, 600_000);

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const [fixture, trainable, , convs] of CASES) {
    const id = caseId(fixture, trainable);
    it(`${fixture} --trainable ${trainable}: trains, passes the parity gate on both engines, and its re-trained conv changed`, () => {
      const t = trained.get(id)!;
      expect(t.code, `${fixture}: ${t.stderr.slice(-500)}`).toBe(0);
      expect(t.trainableConvs).toBe(convs);
      expect(t.parity).toBeLessThanOrEqual(1e-4);
      expect(t.engines).toEqual(['onnxruntime', 'edgetune-wasm']);
      const original = decodeModel(new Uint8Array(fs.readFileSync(path.join(FIXTURES, `${fixture}.onnx`))));
      const exported = decodeModel(new Uint8Array(fs.readFileSync(path.join(dir, id, 'model.onnx'))));
      const before = convWeightsReading(original, t.boundary!);
      const after = convWeightsReading(exported, t.boundary!);
      expect(after.dims).toEqual(before.dims);
      let change = 0;
      let norm = 0;
      for (let i = 0; i < before.data.length; i++) {
        change += (after.data[i]! - before.data[i]!) ** 2;
        norm += before.data[i]! ** 2;
      }
      const relative = Math.sqrt(change / norm);
      // Changed by training, and still the pretrained kernel (a fresh one would differ by ~√2).
      expect(relative).toBeGreaterThan(1e-6);
      expect(relative).toBeLessThan(0.5);
    });
  }
});

describe('--trainable on an ONNX backbone with a node the converter does not take', () => {
  it('an unsupported node after the cut is refused in one line naming it, before the data is read', async () => {
    // mobilenet_v2 with its last ReLU6 (Clip) replaced by an op the converter does not take.
    const model = decodeModel(new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'mobilenet_v2.onnx'))));
    const clip = model.graph!.node!.filter((n) => n.opType === 'Clip').at(-1)!;
    clip.opType = 'Softplus';
    clip.input = clip.input!.slice(0, 1);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-byo-refuse-'));
    const file = path.join(dir, 'softplus.onnx');
    fs.writeFileSync(file, encodeModel(model));
    const run = await runCli([
      'train',
      '--backbone',
      file,
      '--preprocess',
      'imagenet',
      '--trainable',
      '1',
      '--data',
      `folder:${path.join(dir, 'no-such-folder')}`,
      '--name',
      'softplus',
    ]);
    expect(run.code).not.toBe(0);
    // Progress lines (the tfjs backend) may come first; the error is one line, and the missing
    // data folder was never looked at.
    const errors = run.stderr.split('\n').filter((l) => l.startsWith('edgetune:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/\(Softplus\) after the freeze boundary cannot be re-trained/);
    expect(errors[0]).toContain(`node '${clip.name}'`);
    expect(run.stderr).not.toContain('no-such-folder');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
