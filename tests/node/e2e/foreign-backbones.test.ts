/**
 * Bring your own backbone, end to end: every torch.onnx fixture (tests/fixtures/foreign) trains
 * through the CLI with `--preprocess imagenet` and no metadata editing, passes the parity gate,
 * is published into a file store and served by the real Worker in workerd on edgetune's engine,
 * with probabilities equal to onnxruntime-node's on the same preprocessed tensor. One case is
 * fine-tuned (`--trainable 1`: the layers after the cut converted to tfjs and back to ONNX).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ModelManifest, ModelManifestSchema } from '../../../shared/manifest/manifest.ts';
import { preprocessBytes } from '../../../shared/preprocess/preprocess.ts';
import { type LocalEdge, startLocalEdge } from '../../../local-edge/local-edge.ts';
import { FileStore } from '../../../shared/store/node/file.ts';
import { REPO_ROOT, runCli } from '../cli-helper.ts';

const FIXTURES = path.join(REPO_ROOT, 'tests', 'fixtures', 'foreign');
const PHOTO = path.join(REPO_ROOT, 'data', 'photos', 'chelsea.png');

// [case (fixture[+variant]), extra flags]: the opset-9 export has a dynamic height and width.
const CASES: [string, string[]][] = [
  ['mobilenet_v2', []],
  ['mobilenet_v3_small', []],
  ['resnet18', []],
  ['efficientnet_b0', []],
  ['nhwc', []],
  ['opset9', ['--input-size', '64x64']],
  ['mobilenet_v3_small+trainable', ['--trainable', '1']],
];

const modelName = (fixture: string) => `byo-${fixture.replace(/[_+]/g, '-')}`;
const fixtureFile = (fixture: string) => path.join(FIXTURES, `${fixture.split('+')[0]}.onnx`);

describe('torch.onnx exports as backbones: CLI training → parity gate → workerd engine', () => {
  let dir: string;
  let store: FileStore;
  let edge: LocalEdge | undefined;
  const trained = new Map<
    string,
    { parity: number; engines: string[]; warnings: string[]; inputSide: number }
  >();

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-byo-'));
    store = new FileStore(path.join(dir, 'store'));
    for (const [fixture, flags] of CASES) {
      const run = await runCli([
        'train',
        '--backbone',
        fixtureFile(fixture),
        '--preprocess',
        'imagenet',
        ...flags,
        '--data',
        'opencv-digits:per-class=4:classes=0-2',
        '--name',
        modelName(fixture),
        '--epochs',
        '3',
        // The backbone itself is under test: the plain transfer configuration, pinned.
        '--select',
        'transfer',
        '--out',
        path.join(dir, 'runs', fixture),
        '--store',
        `file://${path.join(dir, 'store')}`,
        '--json',
      ]);
      expect(run.stderr.split('\n').filter((l) => /error/i.test(l))).toEqual([]);
      expect(run.code, `${fixture}: ${run.stderr.slice(-500)}`).toBe(0);
      const json = JSON.parse(run.stdout) as {
        parity: { maxAbsDiff: number };
        version?: string;
        warnings: string[];
      };
      const manifest = ModelManifestSchema.parse(
        JSON.parse(fs.readFileSync(path.join(dir, 'runs', fixture, 'manifest.json'), 'utf8')),
      );
      trained.set(fixture, {
        parity: json.parity.maxAbsDiff,
        engines: manifest.engines,
        warnings: json.warnings,
        inputSide: manifest.preprocess.width,
      });
    }
    edge = await startLocalEdge(store, { port: 0, persistDir: path.join(dir, 'r2'), syncIntervalMs: 0 });
  }, 600_000);

  afterAll(async () => {
    await edge?.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function nodeProbabilities(manifest: ModelManifest, modelFile: string, image: Uint8Array) {
    const session = await ort.InferenceSession.create(modelFile, { intraOpNumThreads: 1 });
    const input = preprocessBytes(image, manifest.preprocess);
    const out = await session.run({
      [manifest.input.name]: new ort.Tensor('float32', input.data, input.dims),
    });
    await session.release();
    return Array.from(out[manifest.outputs.probabilities]!.data as Float32Array);
  }

  for (const [fixture] of CASES) {
    it(`${fixture}: parity gate passed on both engines, served by edgetune-wasm = onnxruntime-node`, async () => {
      const t = trained.get(fixture)!;
      expect(t.parity).toBeLessThanOrEqual(1e-4);
      expect(t.engines).toEqual(['onnxruntime', 'edgetune-wasm']);
      // Random weights flatten plain stacks' features to constants; ResNet's identity shortcuts
      // keep them varying.
      const flat = t.warnings.some((w) => /are \(near\) constant across the \d+ training images/.test(w));
      expect(flat).toBe(fixture !== 'resnet18');
      // The opencv digits are 20 px: a 96-px input is ≥ 4× that, a 64-px one is not.
      const upscaled = t.warnings.some((w) => /× the images' median size \(20 px\)/.test(w));
      expect(upscaled).toBe(t.inputSide >= 80);
      const runDir = path.join(dir, 'runs', fixture);
      const manifest = ModelManifestSchema.parse(
        JSON.parse(fs.readFileSync(path.join(runDir, 'manifest.json'), 'utf8')),
      );
      const image = new Uint8Array(fs.readFileSync(PHOTO));
      const res = await fetch(new URL(`/v1/models/${modelName(fixture)}/classify?top_k=3`, edge!.url), {
        method: 'POST',
        headers: { 'content-type': 'image/png' },
        body: image,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-engine')).toBe('edgetune-wasm');
      const body = (await res.json()) as { predictions: { label: string; score: number }[] };
      const ref = await nodeProbabilities(manifest, path.join(runDir, manifest.model.file), image);
      expect(body.predictions).toHaveLength(3);
      for (const p of body.predictions) {
        expect(Math.abs(p.score - ref[manifest.labels.indexOf(p.label)]!)).toBeLessThanOrEqual(1e-4);
      }
    });
  }
});
