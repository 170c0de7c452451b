/**
 * Model-hub backbones (`hf:<org>/<repo>…`, `https://…/model.onnx`) against a local hub on
 * 127.0.0.1 that serves Hugging Face's `/{repo}/resolve/{revision}/{file}` layout from the
 * torch.onnx fixtures: downloaded once and cached by sha256, pinned downloads verified (a
 * mismatch caches nothing), gated/missing/unreachable repositories explained in one line, the
 * repository's preprocessor_config.json used for preprocessing, and a training run's recipe
 * that a retraining worker without the cache resolves to the same verified bytes.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgetuneError } from '../../../shared/errors.ts';
import { ModelManifestSchema } from '../../../shared/manifest/manifest.ts';
import { download } from '../../../training/backbones/hub/download.ts';
import { fetchHubBackbone } from '../../../training/backbones/hub/hub-backbone.ts';
import { formatHubRef, hubFileUrl, parseHubRef } from '../../../training/backbones/hub/hub-ref.ts';
import { readRecipe } from '../../../training/train/recipe.ts';
import { resolveBackbone } from '../../../training/train/backbone.ts';
import { FileStore } from '../../../shared/store/node/file.ts';
import { REPO_ROOT, runCli } from '../cli-helper.ts';
import { type LocalHub, startLocalHub } from './hub-server.ts';

const FIXTURES = path.join(REPO_ROOT, 'tests', 'fixtures', 'foreign');
const read = (f: string) => new Uint8Array(fs.readFileSync(path.join(FIXTURES, f)));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const MV2 = read('mobilenet_v2.onnx');
const MV3 = read('mobilenet_v3_small.onnx');
// What a transformers.js-style repository carries beside the ONNX file.
const PREPROCESSOR = JSON.stringify({
  do_normalize: true,
  do_rescale: true,
  rescale_factor: 1 / 255,
  image_mean: [0.485, 0.456, 0.406],
  image_std: [0.229, 0.224, 0.225],
  size: { height: 96, width: 96 },
});
const DIGITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
const id2label = (labels: string[]) =>
  JSON.stringify({ id2label: Object.fromEntries(labels.map((l, i) => [i, l])) });

describe('model hub backbones', () => {
  let hub: LocalHub;
  let dir: string;
  const saved = { ...process.env };
  const cache = () => process.env.EDGETUNE_CACHE_DIR!;
  const hubFiles = () => {
    const d = path.join(cache(), 'hub', 'files');
    return fs.existsSync(d) ? fs.readdirSync(d) : [];
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-hub-'));
    hub = await startLocalHub({
      'torchvision/mobilenet_v2': {
        revisions: {
          main: { 'model.onnx': MV2, 'preprocessor_config.json': PREPROCESSOR },
          v1: { 'onnx/model.onnx': MV2 },
        },
      },
      // The fixture classifies 10 classes: one repository names them, one names 3.
      'torchvision/mv3-classifier': {
        revisions: {
          main: {
            'model.onnx': MV3,
            'config.json': id2label(DIGITS),
            'preprocessor_config.json': PREPROCESSOR,
          },
        },
      },
      'torchvision/mv3-wrong-labels': {
        revisions: {
          main: {
            'model.onnx': MV3,
            'config.json': id2label(['a', 'b', 'c']),
            'preprocessor_config.json': PREPROCESSOR,
          },
        },
      },
      'acme/gated': { token: 'hf_secret', revisions: { main: { 'model.onnx': MV2 } } },
    });
    process.env.HF_ENDPOINT = hub.endpoint;
    delete process.env.HF_TOKEN;
    delete process.env.HF_HUB_OFFLINE;
    process.env.EDGETUNE_CACHE_DIR = path.join(dir, 'cache');
  });

  afterAll(async () => {
    process.env = saved;
    await hub?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('parses hf: and https: sources and builds the resolve URL from HF_ENDPOINT', () => {
    expect(parseHubRef('hf:org/repo')).toEqual({
      kind: 'hf',
      repo: 'org/repo',
      revision: 'main',
      file: 'model.onnx',
    });
    expect(parseHubRef('hf:org/repo@v2/onnx/model.onnx')).toEqual({
      kind: 'hf',
      repo: 'org/repo',
      revision: 'v2',
      file: 'onnx/model.onnx',
    });
    expect(parseHubRef('hf:org/repo/onnx/model.onnx@abc123')).toMatchObject({
      revision: 'abc123',
      file: 'onnx/model.onnx',
    });
    expect(formatHubRef(parseHubRef('hf:org/repo/x.onnx'))).toBe('hf:org/repo@main/x.onnx');
    expect(
      hubFileUrl(parseHubRef('hf:org/repo@v2/onnx/model.onnx'), undefined, { HF_ENDPOINT: 'http://h:1/' }),
    ).toBe('http://h:1/org/repo/resolve/v2/onnx/model.onnx');
    expect(hubFileUrl(parseHubRef('https://x.test/a/b/model.onnx'), 'config.json')).toBe(
      'https://x.test/a/b/config.json',
    );
    expect(() => parseHubRef('hf:org')).toThrow(/bad hub source 'hf:org': expected <org>\/<repo>/);
    expect(() => parseHubRef('hf:org/repo/../../etc/passwd.onnx')).toThrow(/not a .onnx path/);
    expect(() => parseHubRef('https://x.test/model.bin')).toThrow(/must name a .onnx file/);
  });

  it('downloads once, then serves the cached bytes without a request', async () => {
    const modelPath = '/torchvision/mobilenet_v2/resolve/main/model.onnx';
    const first = await fetchHubBackbone('hf:torchvision/mobilenet_v2', { quiet: true });
    expect(first.cached).toBe(false);
    expect(first.sha256).toBe(sha(MV2));
    expect(Buffer.compare(Buffer.from(first.bytes), Buffer.from(MV2))).toBe(0);
    expect(first.source).toBe('hf:torchvision/mobilenet_v2@main/model.onnx');
    expect(hub.hits.get(modelPath)).toBe(1);
    expect(fs.readFileSync(first.path).equals(Buffer.from(MV2))).toBe(true);

    const second = await fetchHubBackbone('hf:torchvision/mobilenet_v2@main/model.onnx', { quiet: true });
    expect(second.cached).toBe(true);
    expect(second.sha256).toBe(sha(MV2));
    expect(hub.hits.get(modelPath)).toBe(1);
    // The repository's preprocessing came along.
    expect(second.config.input).toMatchObject({
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
      inputSize: { height: 96, width: 96 },
    });
    // No temporary files are left in the cache.
    expect(hubFiles().filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a damaged cache file is never served: it is fetched again', async () => {
    const h = await fetchHubBackbone('hf:torchvision/mobilenet_v2', { quiet: true });
    const before = hub.hits.get('/torchvision/mobilenet_v2/resolve/main/model.onnx')!;
    fs.writeFileSync(h.path, Buffer.from('not the model'));
    const again = await fetchHubBackbone('hf:torchvision/mobilenet_v2', { quiet: true });
    expect(again.cached).toBe(false);
    expect(again.sha256).toBe(sha(MV2));
    expect(hub.hits.get('/torchvision/mobilenet_v2/resolve/main/model.onnx')).toBe(before + 1);
  });

  it('a pinned sha256 that does not match is refused and nothing is cached', async () => {
    const wrong = 'ab'.repeat(32);
    const filesBefore = hubFiles();
    const err = await fetchHubBackbone('hf:torchvision/mobilenet_v2@v1/onnx/model.onnx', {
      sha256: wrong,
      quiet: true,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EdgetuneError);
    expect((err as EdgetuneError).code).toBe('checksum_mismatch');
    expect((err as Error).message).toBe(
      `${hub.endpoint}/torchvision/mobilenet_v2/resolve/v1/onnx/model.onnx has sha256 ${sha(MV2)}, expected ${wrong}: refused, nothing cached`,
    );
    expect(hubFiles()).toEqual(filesBefore);
    const refs = fs.readdirSync(path.join(cache(), 'hub', 'refs'));
    const url = `${hub.endpoint}/torchvision/mobilenet_v2/resolve/v1/onnx/model.onnx`;
    expect(refs).not.toContain(`${sha(new TextEncoder().encode(url))}.json`);
    // The right pin downloads it.
    const ok = await fetchHubBackbone('hf:torchvision/mobilenet_v2@v1/onnx/model.onnx', {
      sha256: sha(MV2),
      quiet: true,
    });
    expect(ok.sha256).toBe(sha(MV2));
  });

  it('explains 404, gated repositories (HF_TOKEN) and network failures in one line', async () => {
    const missing = await fetchHubBackbone('hf:nobody/nothing', { quiet: true }).catch((e: Error) => e);
    expect((missing as Error).message).toBe(
      `${hub.endpoint}/nobody/nothing/resolve/main/model.onnx: 404 not found (check the repository, revision and file name)`,
    );
    const gated = await fetchHubBackbone('hf:acme/gated', { quiet: true }).catch((e: Error) => e);
    expect((gated as EdgetuneError).code).toBe('unauthorized');
    expect((gated as Error).message).toMatch(
      /401 Unauthorized: the repository is gated or private; set HF_TOKEN/,
    );
    const withToken = await fetchHubBackbone('hf:acme/gated', {
      quiet: true,
      env: { ...process.env, HF_TOKEN: 'hf_secret' },
    });
    expect(withToken.sha256).toBe(sha(MV2));

    // A port that nothing listens on: bind one, then close it.
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const down = await fetchHubBackbone('hf:x/y', {
      quiet: true,
      env: { ...process.env, HF_ENDPOINT: `http://127.0.0.1:${port}` },
    }).catch((e: Error) => e);
    expect((down as Error).message).toMatch(
      new RegExp(
        `^cannot download http://127\\.0\\.0\\.1:${port}/x/y/resolve/main/model\\.onnx: .*ECONNREFUSED.*network failure`,
      ),
    );
    expect((down as Error).message.split('\n')).toHaveLength(1);

    const offline = await download(`${hub.endpoint}/never/fetched/resolve/main/model.onnx`, {
      offline: true,
    }).catch((e: Error) => e);
    expect((offline as Error).message).toMatch(/is not in the cache .* and HF_HUB_OFFLINE is set$/);
  });

  it('backbone import from the hub records the repository preprocessing and shows progress', async () => {
    const out = path.join(dir, 'mv2-imported.onnx');
    const run = await runCli(['backbone', 'import', 'https://example.invalid/x.onnx', '--out', out]);
    expect(run.code).not.toBe(0);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^edgetune: cannot download https:\/\/example\.invalid\/x\.onnx: /);

    // A fresh cache so the download (and its progress) happens in the CLI process.
    const fresh = await runCli(['backbone', 'import', 'hf:torchvision/mobilenet_v2', '--out', out], {
      env: { EDGETUNE_CACHE_DIR: path.join(dir, 'cli-cache') },
    });
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stderr).toMatch(
      /downloading hf:torchvision\/mobilenet_v2@main\/model\.onnx: 1\.6\/1\.6 MiB \(100%\)/,
    );
    expect(fresh.stdout).toMatch(/from hf:torchvision\/mobilenet_v2@main\/model\.onnx/);
    expect(fresh.stdout).toMatch(/mean \[0\.485, 0\.456, 0\.406\]\) \/ std \[0\.229, 0\.224, 0\.225\]/);
  });

  it('trains from hf: with the sha256 recorded; a worker without the cache fetches and verifies it; a tampered file is refused', async () => {
    const out = path.join(dir, 'run');
    const storeDir = path.join(dir, 'store');
    const run = await runCli([
      'train',
      '--backbone',
      'hf:torchvision/mobilenet_v2',
      '--sha256',
      sha(MV2),
      '--data',
      'opencv-digits:per-class=4:classes=0-2',
      '--name',
      'hub-mv2',
      '--epochs',
      '2',
      // The hub download is under test: the plain transfer configuration, pinned.
      '--select',
      'transfer',
      '--out',
      out,
      '--store',
      `file://${storeDir}`,
      '--json',
    ]);
    expect(run.code, run.stderr.slice(-800)).toBe(0);
    const manifest = ModelManifestSchema.parse(
      JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')),
    );
    expect(manifest.backbone).toMatchObject({
      source: 'hf:torchvision/mobilenet_v2@main/model.onnx',
      sha256: sha(MV2),
    });
    // preprocessor_config.json supplied ImageNet mean/std: no --preprocess was given.
    expect(manifest.preprocess.mean).toEqual([0.485, 0.456, 0.406]);
    expect(manifest.preprocess.std).toEqual([0.229, 0.224, 0.225]);
    const json = JSON.parse(run.stdout) as { parity: { maxAbsDiff: number }; version: string };
    expect(json.parity.maxAbsDiff).toBeLessThanOrEqual(1e-4);

    const recipe = await readRecipe(new FileStore(storeDir), 'hub-mv2', json.version);
    expect(recipe?.backbone).toBe('hf:torchvision/mobilenet_v2@main/model.onnx');
    expect(recipe?.backboneSha256).toBe(sha(MV2));

    // A retraining worker on another machine: no cache; it resolves the recipe's source.
    process.env.EDGETUNE_CACHE_DIR = path.join(dir, 'worker-cache');
    const hitsBefore = hub.hits.get('/torchvision/mobilenet_v2/resolve/main/model.onnx')!;
    const resolved = await resolveBackbone(
      recipe!.backbone,
      undefined,
      recipe!.options.input,
      recipe!.backboneSha256!,
    );
    expect(resolved.sha256).toBe(sha(MV2));
    expect(resolved.preprocess.mean).toEqual(manifest.preprocess.mean);
    expect(hub.hits.get('/torchvision/mobilenet_v2/resolve/main/model.onnx')).toBe(hitsBefore + 1);

    // The hub's file changes under the same name: a worker without the cache refuses it.
    hub.repos.get('torchvision/mobilenet_v2')!.revisions.main!['model.onnx'] = MV3;
    process.env.EDGETUNE_CACHE_DIR = path.join(dir, 'worker-cache-2');
    const err = await resolveBackbone(
      recipe!.backbone,
      undefined,
      recipe!.options.input,
      recipe!.backboneSha256!,
    ).catch((e: unknown) => e);
    expect((err as EdgetuneError).code).toBe('checksum_mismatch');
    expect((err as Error).message).toMatch(
      /has sha256 [0-9a-f]{64}, expected [0-9a-f]{64}: refused, nothing cached$/,
    );
    expect(fs.existsSync(path.join(dir, 'worker-cache-2', 'hub', 'files', sha(MV3)))).toBe(false);
    hub.repos.get('torchvision/mobilenet_v2')!.revisions.main!['model.onnx'] = MV2;
  });

  it('import-model takes a hub classifier with its config.json labels and preprocessing', async () => {
    const wrongOut = path.join(dir, 'imported-wrong');
    const wrong = await runCli([
      'import-model',
      'hf:torchvision/mv3-wrong-labels',
      '--name',
      'hub-mv3',
      '--softmax',
      '--out',
      wrongOut,
    ]);
    expect(wrong.code).not.toBe(0);
    // Download progress, then the error on one line.
    const lines = wrong.stderr.trim().split('\n');
    expect(
      lines
        .slice(0, -1)
        .every((l) => l.startsWith('downloading hf:torchvision/mv3-wrong-labels@main/model.onnx: ')),
      wrong.stderr,
    ).toBe(true);
    expect(lines.at(-1)).toMatch(/^edgetune: .*3 labels/);
    expect(fs.existsSync(path.join(wrongOut, 'manifest.json'))).toBe(false);

    const out = path.join(dir, 'imported');
    const run = await runCli([
      'import-model',
      'hf:torchvision/mv3-classifier',
      '--name',
      'hub-mv3',
      '--softmax',
      '--out',
      out,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const manifest = ModelManifestSchema.parse(
      JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')),
    );
    expect(manifest.labels).toEqual(DIGITS);
    expect(manifest.preprocess.mean).toEqual([0.485, 0.456, 0.406]);
    expect(manifest.backbone).toMatchObject({
      source: 'hf:torchvision/mv3-classifier@main/model.onnx',
      sha256: sha(MV3),
    });
  });
});
