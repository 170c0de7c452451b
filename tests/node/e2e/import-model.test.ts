/**
 * An existing classifier published as it is: `edgetune import-model` on a torch.onnx export plus
 * a labels file → served by the real Worker in workerd with probabilities equal to
 * onnxruntime-node's on the same tensor; wrong tensor names and label counts are refused at
 * import and at publish with one line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelManifestSchema } from '../../../shared/manifest/manifest.ts';
import { preprocessBytes } from '../../../shared/preprocess/preprocess.ts';
import { type LocalEdge, startLocalEdge } from '../../../local-edge/local-edge.ts';
import { FileStore } from '../../../shared/store/node/file.ts';
import { REPO_ROOT, runCli } from '../cli-helper.ts';

const MODEL = path.join(REPO_ROOT, 'tests', 'fixtures', 'foreign', 'mobilenet_v3_small.onnx');
const PHOTO = path.join(REPO_ROOT, 'data', 'photos', 'coffee.png');
const LABELS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

describe('edgetune import-model', () => {
  let dir: string;
  let edge: LocalEdge | undefined;
  const storeUrl = () => `file://${path.join(dir, 'store')}`;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-import-model-'));
    fs.writeFileSync(path.join(dir, 'labels.txt'), `${LABELS.join('\n')}\n`);
    fs.writeFileSync(path.join(dir, 'three.txt'), 'a\nb\nc\n');
  });

  afterAll(async () => {
    await edge?.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const importArgs = (out: string, ...extra: string[]) => [
    'import-model',
    MODEL,
    '--name',
    'mv3',
    '--labels',
    path.join(dir, 'labels.txt'),
    '--preprocess',
    'imagenet',
    '--out',
    path.join(dir, out),
    ...extra,
  ];

  it('refuses a wrong tensor name or label count at import, in one line, writing nothing', async () => {
    const wrongTensor = await runCli(importArgs('bad1', '--probabilities', 'no_such_tensor'));
    expect(wrongTensor.code).not.toBe(0);
    expect(wrongTensor.stderr.trim().split('\n')).toEqual([
      'edgetune: --probabilities no_such_tensor is not a tensor of mobilenet_v3_small.onnx (see inspect --tensors)',
    ]);
    const three = importArgs('bad2');
    three[5] = path.join(dir, 'three.txt');
    const wrongCount = await runCli(three);
    expect(wrongCount.code).not.toBe(0);
    expect(wrongCount.stderr.trim().split('\n')).toEqual([
      'edgetune: logits is [N, 10]: 10 classes, but the labels file has 3 labels',
    ]);
    expect(fs.existsSync(path.join(dir, 'bad1'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'bad2'))).toBe(false);
  });

  it('warns that logits imported without --softmax are logits', async () => {
    const run = await runCli(importArgs('logits', '--json'));
    expect(run.code).toBe(0);
    const json = JSON.parse(run.stdout) as { warnings: string[] };
    expect(json.warnings).toContainEqual(
      expect.stringMatching(/logits is computed by Gemm, not Softmax: it looks like logits/),
    );
  });

  it('publishes with --softmax and serves probabilities equal to onnxruntime-node on edgetune-wasm', async () => {
    const run = await runCli(importArgs('good', '--softmax', '--store', storeUrl(), '--json'));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const json = JSON.parse(run.stdout) as { engines: string[]; version: string; warnings: string[] };
    expect(json.engines).toEqual(['onnxruntime', 'edgetune-wasm']);
    expect(json.version).toBe('v1');
    expect(json.warnings).toEqual([]);
    const manifest = ModelManifestSchema.parse(
      JSON.parse(fs.readFileSync(path.join(dir, 'good', 'manifest.json'), 'utf8')),
    );
    expect(manifest.labels).toEqual(LABELS);
    expect(manifest.input.shape).toEqual(['N', 3, 96, 96]);

    edge = await startLocalEdge(new FileStore(path.join(dir, 'store')), {
      port: 0,
      persistDir: path.join(dir, 'r2'),
      syncIntervalMs: 0,
    });
    const image = new Uint8Array(fs.readFileSync(PHOTO));
    const res = await fetch(new URL('/v1/models/mv3/classify?top_k=10', edge.url), {
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body: image,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-engine')).toBe('edgetune-wasm');
    const body = (await res.json()) as { predictions: { label: string; score: number }[] };

    // The reference: the user's own file in onnxruntime-node (fixed batch of 1) + a softmax.
    const session = await ort.InferenceSession.create(MODEL, { intraOpNumThreads: 1 });
    const x = preprocessBytes(image, manifest.preprocess);
    const logits = (await session.run({ input: new ort.Tensor('float32', x.data, x.dims) })).logits!
      .data as Float32Array;
    await session.release();
    const max = Math.max(...logits);
    const exp = Array.from(logits, (v) => Math.exp(v - max));
    const sum = exp.reduce((a, b) => a + b, 0);
    expect(body.predictions).toHaveLength(10);
    for (const p of body.predictions) {
      expect(Math.abs(p.score - exp[LABELS.indexOf(p.label)]! / sum)).toBeLessThanOrEqual(1e-4);
    }

    // A batch of two on a graph the user exported with a fixed batch of 1: answered, not a 500.
    const b64 = Buffer.from(image).toString('base64');
    const batch = await fetch(new URL('/v1/models/mv3/classify', edge.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ images: [b64, b64] }),
    });
    expect(batch.status).toBe(200);
  });

  it('refuses at publish a manifest whose tensor names or labels do not match the graph', async () => {
    const good = path.join(dir, 'good');
    const manifest = JSON.parse(fs.readFileSync(path.join(good, 'manifest.json'), 'utf8')) as Record<
      string,
      unknown
    > & {
      outputs: Record<string, unknown>;
      labels: string[];
    };
    const cases: [string, object, string][] = [
      [
        'tensor',
        { ...manifest, outputs: { ...manifest.outputs, probabilities: 'scores' } },
        'edgetune: mv3: manifest.json does not match model.onnx: probabilities output scores is not a graph output (outputs: probabilities, embedding)',
      ],
      [
        'labels',
        { ...manifest, labels: ['a', 'b', 'c'] },
        'edgetune: mv3: manifest.json does not match model.onnx: probabilities output probabilities is [N, 10]; [N, 3] expected',
      ],
    ];
    for (const [kind, edited, message] of cases) {
      const exportDir = path.join(dir, `edited-${kind}`);
      fs.mkdirSync(exportDir);
      fs.copyFileSync(path.join(good, 'model.onnx'), path.join(exportDir, 'model.onnx'));
      fs.writeFileSync(
        path.join(exportDir, 'manifest.json'),
        JSON.stringify({ ...edited, optimized: undefined }),
      );
      const run = await runCli(['publish', 'mv3', exportDir, '--store', storeUrl()]);
      expect(run.code, kind).not.toBe(0);
      expect(run.stderr.trim().split('\n'), kind).toEqual([message]);
    }
  });
});
