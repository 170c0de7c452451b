import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeModel } from '../../../shared/onnx/index.ts';
import { buildMobileNetV2 } from '../../../shared/onnx/zoo/mobilenetv2.ts';
import { runCli } from '../cli-helper.ts';

const cli = (...args: string[]) => runCli(args);

describe('edgetune inspect', () => {
  let dir: string;
  let modelPath: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgetune-inspect-'));
    modelPath = join(dir, 'mobilenetv2.onnx');
    await writeFile(modelPath, encodeModel(buildMobileNetV2({ seed: 3, batch: 'N', classes: 10 })));
    await writeFile(join(dir, 'garbage.onnx'), 'this is not a model\n');
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints one JSON object with --json', async () => {
    const r = await cli('inspect', modelPath, '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.macs).toBe(300_774_272 - 990 * 1280);
    expect(s.parameters).toBe(3_487_818 - 990 * 1281);
    expect(s.inputs).toEqual([{ name: 'input', shape: ['N', 3, 224, 224], elemType: 'FLOAT' }]);
    expect(s.outputs).toEqual([{ name: 'logits', shape: ['N', 10], elemType: 'FLOAT' }]);
    expect(s.opHistogram.Conv).toBe(52);
    expect(s.metadata).toEqual({ architecture: 'mobilenetv2-1.0-224', seed: '3' });
  });

  it('prints a readable summary by default', async () => {
    const r = await cli('inspect', modelPath);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/input\s+FLOAT\s+\[N, 3, 224, 224\]/);
    expect(r.stdout).toMatch(/logits\s+FLOAT\s+\[N, 10\]/);
    expect(r.stdout).toMatch(/Conv\s+52/);
    expect(r.stdout).toMatch(/MACs: 299\.51 M \(299507072\)/);
    expect(r.stdout).toMatch(/architecture: mobilenetv2-1\.0-224/);
  });

  it('fails with one line and a non-zero exit for garbage or missing files', async () => {
    for (const path of [join(dir, 'garbage.onnx'), join(dir, 'missing.onnx')]) {
      const r = await cli('inspect', path);
      expect(r.code).not.toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^edgetune: /);
    }
  });
});
