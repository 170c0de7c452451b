/**
 * `edgetune pretrain` through the CLI on a small slice of mnist (the full acceptance run — all
 * ten digits, ≥ 97% in ≤ 5 min — is what the cached test backbone in fixtures.ts is; it measured
 * 97.9% in 212 s here): the ONNX, its metadata (feature tensor, preprocessing) and the tfjs
 * sidecar that `train --trainable N` needs.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readBackboneMetadata } from '../../../training/backbones/convert/metadata.ts';
import { decodeModel } from '../../../shared/onnx/proto.ts';
import { ROOT, tmpDir } from './fixtures.ts';

const run = promisify(execFile);

describe('edgetune pretrain', () => {
  it('trains, exports ONNX + <out>.tfjs/, checks parity, names the feature tensor and the preprocessing', async () => {
    const out = path.join(tmpDir('pretrain'), 'b.onnx');
    const { stdout } = await run(
      process.execPath,
      [
        path.join(ROOT, 'bin', 'edgetune.mjs'),
        'pretrain',
        '--data',
        'mnist:per-class=60',
        '--arch',
        'tiny-cnn',
        '--epochs',
        '3',
        '--batch-size',
        '16',
        '--out',
        out,
        '--json',
      ],
      { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
    );
    const r = JSON.parse(stdout);
    expect(r.out).toBe(out);
    expect(r.trainCount).toBe(480);
    expect(r.valCount).toBe(120);
    expect(r.parity.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(r.accuracy).toBeGreaterThan(0.5); // 3 short epochs of 480 images; chance is 0.1
    expect(r.epochs).toHaveLength(3);
    expect(fs.existsSync(path.join(`${out}.tfjs`, 'model.json'))).toBe(true);
    const meta = readBackboneMetadata(decodeModel(new Uint8Array(fs.readFileSync(out))));
    expect(meta.features[0]).toMatchObject({ name: 'features', kind: 'pooled', shape: ['N', 48] });
    expect(meta.preprocess).toMatchObject({
      width: 28,
      height: 28,
      channels: 1,
      layout: 'NCHW',
      mean: [0],
      std: [1],
    });
    expect(meta.labels).toHaveLength(10);
  });

  it('refuses bad flags clearly', async () => {
    await expect(
      run(
        process.execPath,
        [
          path.join(ROOT, 'bin', 'edgetune.mjs'),
          'pretrain',
          '--data',
          'mnist',
          '--out',
          '/tmp/x.onnx',
          '--epochs',
          '0',
        ],
        {
          cwd: ROOT,
        },
      ),
    ).rejects.toMatchObject({ stderr: expect.stringMatching(/--epochs.*≥ 1/) });
  });
});
