/**
 * `edgetune train --head prototype` through the real CLI: nsfwjs MobileNetV2 (frozen) on a folder
 * of photo crops, compared with the trained linear head (`--baseline linear`), exported as one
 * ONNX file with the usual report, parity-checked on onnxruntime-node and the engine, published.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelManifestSchema } from '../../../shared/manifest/manifest.ts';
import { runCli } from '../cli-helper.ts';
import { photoFolder, tmpDir } from '../train/fixtures.ts';

describe('edgetune train --head prototype', () => {
  it('fits the head without tfjs, reports leave-one-out and held-out accuracy against the linear head, publishes', {
    timeout: 600_000,
  }, async () => {
    const data = photoFolder(6);
    const out = tmpDir('proto-out');
    const store = tmpDir('proto-store');
    const r = await runCli([
      'train',
      '--head',
      'prototype',
      '--baseline',
      'linear',
      '--backbone',
      'nsfwjs:MobileNetV2',
      '--data',
      `folder:${data}`,
      '--val-split',
      '0.34',
      '--name',
      'cat-or-coffee',
      '--out',
      out,
      '--store',
      `file://${store}`,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as Record<string, unknown> & {
      accuracy: number;
      head: { leaveOneOutAccuracy: number };
      baseline: { accuracy: number };
      winner: string;
      parity: { maxAbsDiff: number; engines: string[] };
      counts: { train: number; heldOut: number; classes: number };
      confusion: number[][];
    };
    console.log(
      `prototype ${json.accuracy} (leave-one-out ${json.head.leaveOneOutAccuracy}) vs linear ${json.baseline.accuracy}: ${json.winner}`,
    );
    expect(json.counts).toEqual({ train: 8, heldOut: 4, classes: 2 });
    expect(json.accuracy).toBeGreaterThanOrEqual(0.75);
    expect(json.confusion.flat().reduce((a, b) => a + b, 0)).toBe(4);
    expect(json.winner).toBe(
      json.accuracy > json.baseline.accuracy
        ? 'prototype'
        : json.accuracy < json.baseline.accuracy
          ? 'linear'
          : 'tie',
    );
    expect(json.parity.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(json.parity.engines).toEqual(['onnxruntime', 'edgetune-wasm']);
    expect(json.version).toBe('v1');
    const manifest = ModelManifestSchema.parse(
      JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')),
    );
    expect(manifest.head?.method).toBe('prototype');
    expect(manifest.head?.examples).toHaveLength(8);
    expect(manifest.labels).toEqual(['cat', 'coffee']);
    expect(manifest.metrics.accuracy).toBe(json.accuracy);
    const report = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(report).toMatch(/leave-one-out/);
    expect(report).toMatch(/Confusion matrix/);
    expect(report).toMatch(/wins|Tie/);
    expect(
      fs.existsSync(path.join(store, 'models', 'cat-or-coffee', 'versions', 'v1', 'manifest.json')),
    ).toBe(true);
  });

  it('refuses flags that do not apply, on one line', { timeout: 300_000 }, async () => {
    const r = await runCli([
      'train',
      '--head',
      'prototype',
      '--baseline',
      'scratch',
      '--backbone',
      'nsfwjs:MobileNetV2',
      '--data',
      'folder:/nonexistent',
      '--name',
      'x',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--baseline linear, not scratch/);
  });
});
