/**
 * `edgetune demo --quick --json` runs the whole mission end to end (pretrain or reuse,
 * transfer vs scratch, MobileNetV2 on photos, publish, the edge in workerd, real requests, canary
 * with sticky keys, promote, rollback) against a fresh store, and its JSON summary carries the
 * measured numbers. The assertions check those numbers against what the steps imply, and the
 * store on disk against what the summary claims.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { DemoSummary } from '../../../training/demo/run-demo.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../../..');

describe('edgetune demo --quick', () => {
  it('runs all seven steps against a fresh store and reports real measurements', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-demo-test-'));
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
    const storeDir = path.join(dir, 'store');
    const t0 = performance.now();
    const { stdout, stderr } = await run(
      process.execPath,
      [
        path.join(ROOT, 'bin', 'edgetune.mjs'),
        'demo',
        '--quick',
        '--json',
        '--store',
        `file://${storeDir}`,
        '--out',
        path.join(dir, 'runs'),
      ],
      { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 280_000 },
    );
    const seconds = (performance.now() - t0) / 1000;
    const s = JSON.parse(stdout) as DemoSummary;
    console.log(
      `quick demo: ${seconds.toFixed(1)} s (backbone ${s.pretrain?.reused ? 'reused' : 'built'}); ` +
        `transfer ${s.transfer?.digits.transferAccuracy} vs scratch ${s.transfer?.digits.scratchAccuracy}; ` +
        `shares ${JSON.stringify(s.rollout?.shares)}`,
    );

    expect(s.error).toBeUndefined();
    expect(s.ok).toBe(true);
    expect(s.mode).toBe('quick');
    expect(s.steps.map((x) => [x.id, x.ok])).toEqual([1, 2, 3, 4, 5, 6, 7].map((i) => [i, true]));
    for (let i = 1; i <= 7; i++) expect(stderr).toContain(`[${i}/7]`);

    const pre = s.pretrain!;
    const published = s.published!;
    const requests = s.requests!;
    const finish = s.finish!;

    // 1. Backbone: a real file with its mnist accuracy in the metadata.
    expect(fs.statSync(pre.path).size).toBe(pre.bytes);
    expect(pre.accuracy).toBeGreaterThan(0.5);
    expect(pre.accuracy!).toBeLessThanOrEqual(1);

    // 2. Transfer vs scratch on 300 held-out sheet digits; MobileNetV2 features on photo crops.
    const d = s.transfer!.digits;
    expect(d.counts).toMatchObject({ train: 80, val: 20, test: 300, classes: 10 });
    for (const acc of [d.transferAccuracy, d.scratchAccuracy]) {
      expect(acc).toBeGreaterThan(0);
      expect(acc).toBeLessThanOrEqual(1);
      // Accuracies over 300 digits are multiples of 1/300.
      expect(Math.abs(acc * 300 - Math.round(acc * 300))).toBeLessThan(1e-6);
    }
    // Even the quick backbone is far above chance (10%) on the scarce task.
    expect(d.transferAccuracy).toBeGreaterThan(0.6);
    expect(d.parityMaxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(d.verdict).toMatch(/^(Transfer wins|The baseline|Transfer and the scratch baseline tie)/);
    const p = s.transfer!.photos;
    expect(p.backbone).toMatch(/^nsfwjs:MobileNetV2/);
    expect(p.embeddingDim).toBe(1280);
    expect(p.labels).toEqual(['cat', 'coffee', 'galaxies']);
    expect(p.accuracy).toBeGreaterThan(0);
    expect(p.accuracy).toBeLessThanOrEqual(1);

    // 3. Published versions match what is in the store on disk.
    expect(published.digits.version).toBe('v1');
    expect(published.photos.version).toBe('v1');
    for (const pub of [published.digits, published.photos]) {
      expect(pub.sha256).toMatch(/^[0-9a-f]{64}$/);
      const file = path.join(storeDir, 'models', pub.name, 'versions', pub.version, 'model.onnx');
      expect(fs.statSync(file).size).toBe(pub.size);
    }

    // 4–5. The edge answered real image files; latencies are client-side measurements.
    expect(s.edge!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const digits = requests.digits;
    expect(digits.predictions).toHaveLength(10);
    expect(new Set(digits.predictions.map((x) => x.label)).size).toBe(10);
    expect(digits.predictions.every((x) => x.version === 'v1')).toBe(true);
    expect(digits.correct).toBe(digits.predictions.filter((x) => x.label === x.predicted).length);
    expect(digits.correct).toBeGreaterThanOrEqual(5);
    for (const lat of [digits.latency, requests.photos.latency, requests.embed.latency]) {
      expect(lat.medianMs).toBeGreaterThan(0);
      expect(lat.p90Ms).toBeGreaterThanOrEqual(lat.medianMs);
      expect(lat.maxMs).toBeGreaterThanOrEqual(lat.p90Ms);
    }
    expect(digits.latency.n).toBe(20);
    expect(requests.photos.predictions.map((x) => x.label)).toEqual(['cat', 'coffee', 'galaxies']);
    expect(requests.embed.dim).toBe(1280);
    expect(requests.embed.norm).toBeGreaterThan(0);

    // 6. Canary: 200 keys split about 20/80, exactly as the shared hash says, and sticky.
    const r = s.rollout!;
    expect(r.current).toMatchObject({ version: 'v1', accuracy: d.transferAccuracy });
    expect(r.candidate).toMatchObject({ version: 'v2', trainCount: 160, trainableConvs: 1 });
    expect(r.candidate.accuracy).toBeGreaterThan(0.6);
    expect(r.candidate.accuracy).toBeLessThanOrEqual(1);
    expect(r.keys).toBe(200);
    expect(Object.keys(r.shares).sort()).toEqual(['v1', 'v2']);
    expect(r.shares.v1! + r.shares.v2!).toBe(200);
    expect(r.shares.v2).toBeGreaterThanOrEqual(20);
    expect(r.shares.v2).toBeLessThanOrEqual(60);
    expect(r.matchesLocalChoice).toBe(200);
    expect(r.sticky).toBe(200);
    expect(r.pinned).toEqual({ asked: 'v1', servedBy: 'v1' });
    expect(r.promoted).toMatchObject({ stable: 'v2', servedBy: 'v2' });
    expect(r.rolledBack).toMatchObject({ stable: 'v1', servedBy: 'v1' });
    const routing = JSON.parse(
      fs.readFileSync(path.join(storeDir, 'models', 'demo-digits', 'routing.json'), 'utf8'),
    );
    expect(routing.stable).toBe('v1');

    // 7. The report it points to exists.
    expect(fs.readFileSync(finish.reports.digits, 'utf8')).toMatch(/<html/i);
    expect(finish.page.url).toBe('http://127.0.0.1:8787/');
  }, 300_000);
});
