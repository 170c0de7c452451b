/** `edgetune quantize` refuses bad input with one line on stderr and exit status 1. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli-helper.ts';
import { tmpDir } from '../train/fixtures.ts';

describe('edgetune quantize: bad input', () => {
  it('a flag out of range, a folder that is no export, a model that does not match its manifest', async () => {
    const dir = tmpDir('int8-cli');
    const bad = await runCli([
      'quantize',
      dir,
      '--calibration',
      'opencv-digits',
      '--max-accuracy-drop',
      '-1',
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toMatch(/--max-accuracy-drop must be ≥ 0/);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);

    const none = await runCli(['quantize', dir, '--calibration', 'opencv-digits']);
    expect(none.code).toBe(1);
    expect(none.stderr.trim()).toMatch(/manifest\.json not found: not an edgetune export/);

    const fixture = path.join(import.meta.dirname, '../../fixtures/manifest-v1.json');
    fs.copyFileSync(fixture, path.join(dir, 'manifest.json'));
    fs.writeFileSync(path.join(dir, 'model.onnx'), 'not the model the manifest names');
    const mismatch = await runCli(['quantize', dir, '--calibration', 'opencv-digits']);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr.trim()).toMatch(/model\.onnx does not match its manifest/);
    // Nothing was written into the export.
    expect(fs.readdirSync(dir).sort()).toEqual(['manifest.json', 'model.onnx']);
    expect(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')).toBe(fs.readFileSync(fixture, 'utf8'));
  }, 300_000);
});
