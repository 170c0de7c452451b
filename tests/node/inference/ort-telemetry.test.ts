import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const MODEL = path.join(ROOT, 'tests/fixtures/foreign/opset9.onnx');

/** Runs `script` in a fresh Node process with its own home and temp directory; returns its stdout. */
function runIsolated(script: string, env: Record<string, string>) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-ort-home-'));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-ort-tmp-'));
  const base = { ...process.env };
  delete base.ORT_DISABLE_TELEMETRY;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...base, HOME: home, XDG_CACHE_HOME: path.join(home, '.cache'), TMPDIR: tmp, ...env },
  });
  return { out: out.trim(), home, tmp };
}

const files = (dir: string): string[] =>
  fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name);

// onnxruntime-node 1.30 on Linux, left at its default, writes a device id and an event queue under
// ~/.cache/Microsoft/DeveloperTools/.onnxruntime and a mat-debug-<pid>.log into the temp
// directory on its first session (training/inference/ort-node.ts).
describe("onnxruntime-node's telemetry", () => {
  it('is off in a process that reaches onnxruntime-node through edgetune: nothing written to home or temp', () => {
    const { out, home, tmp } = runIsolated(
      `const ort = await import('./training/inference/ort-node.ts');
       const s = await ort.InferenceSession.create(${JSON.stringify(MODEL)});
       console.log(JSON.stringify({ inputs: s.inputNames.length, flag: process.env.ORT_DISABLE_TELEMETRY }));`,
      {},
    );
    expect(JSON.parse(out.split('\n').at(-1)!)).toEqual({ inputs: 1, flag: '1' });
    expect(files(home)).toEqual([]);
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith('mat-debug-'))).toEqual([]);
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("keeps the user's own setting", () => {
    const { out, home, tmp } = runIsolated(
      `await import('./training/inference/ort-node.ts');
       console.log(process.env.ORT_DISABLE_TELEMETRY);`,
      { ORT_DISABLE_TELEMETRY: '0' },
    );
    expect(out.split('\n').at(-1)).toBe('0');
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  });
});
