import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encode as encodePng } from 'fast-png';
import { afterAll, describe, expect, it } from 'vitest';
import { checkLabel } from '../../../shared/feedback/labels.ts';
import {
  countFeedbackSince,
  listFeedback,
  readFeedbackImage,
  saveFeedback,
} from '../../../shared/feedback/store.ts';
import { checkRetrainDue } from '../../../shared/jobs/due.ts';
import { decideCanary } from '../../../shared/jobs/gate.ts';
import { listJobs } from '../../../shared/jobs/ledger.ts';
import { parseDuration, updatePolicy } from '../../../shared/jobs/policy.ts';
import { scheduleRetraining } from '../../../shared/jobs/schedule.ts';
import { RetrainOutcomeSchema, RetrainPolicySchema } from '../../../shared/jobs/schema.ts';
import { CUDA_PROVIDER_LIB, resolveDevice } from '../../../training/device.ts';
import { addFeedback, makeSamples, publishWeakStable, tempStore } from './tiny-task.ts';

const dirs: string[] = [];
async function store() {
  const t = await tempStore('edgetune-feedback-');
  dirs.push(t.dir);
  return t;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('feedback storage', () => {
  it('is content-addressed: the same image+label is stored once, another label is a second record', async () => {
    const { store: s } = await store();
    const [a, b] = makeSamples(11, 2);
    const first = await saveFeedback(s, 'tiny', {
      image: a!.png,
      label: 'left',
      knownLabel: true,
      version: 'v1',
      prediction: 'right',
    });
    const again = await saveFeedback(s, 'tiny', { image: a!.png, label: 'left', knownLabel: true });
    expect(first.duplicate).toBe(false);
    expect(again).toMatchObject({
      duplicate: true,
      key: first.key,
      record: { version: 'v1', prediction: 'right' },
    });
    await saveFeedback(s, 'tiny', { image: a!.png, label: 'right', knownLabel: true });
    await saveFeedback(s, 'tiny', { image: b!.png, label: 'right', knownLabel: true });
    const all = await s.list('datasets/tiny/feedback/');
    const count = (p: string) =>
      all.objects.filter((o) => o.key.startsWith(`datasets/tiny/feedback/${p}/`)).length;
    expect([count('images'), count('records'), count('index')]).toEqual([2, 3, 3]);
    const records = await listFeedback(s, 'tiny');
    expect(records.map((r) => r.label).sort()).toEqual(['left', 'right', 'right']);
    const ofA = records.find((r) => r.image.sha256 === first.record.image.sha256 && r.label === 'right')!;
    expect(Array.from(await readFeedbackImage(s, ofA))).toEqual(Array.from(a!.png));
    // A tampered image is refused rather than fed to training.
    await s.put(ofA.image.key, b!.png);
    await expect(readFeedbackImage(s, ofA)).rejects.toMatchObject({ code: 'checksum_mismatch' });
    expect(first.record.image).toMatchObject({ format: 'png', width: 4, height: 4, size: a!.png.byteLength });
  });

  it('concurrent posts of one pair store one record', async () => {
    const { store: s } = await store();
    const [a] = makeSamples(12, 1);
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        saveFeedback(s, 'tiny', { image: a!.png, label: 'left', knownLabel: true }),
      ),
    );
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(await listFeedback(s, 'tiny')).toHaveLength(1);
    expect(await countFeedbackSince(s, 'tiny', null)).toBe(1);
  });

  it('validates the image header and its size before storing anything', async () => {
    const { store: s } = await store();
    await expect(
      saveFeedback(s, 'tiny', {
        image: new TextEncoder().encode('BM\x00\x00\x00\x00....'),
        label: 'left',
        knownLabel: true,
      }),
    ).rejects.toMatchObject({ code: 'unsupported_media_type', status: 415 });
    // GIF is a supported format: a cut-off one is a corrupt upload.
    await expect(
      saveFeedback(s, 'tiny', {
        image: new TextEncoder().encode('GIF89a....'),
        label: 'left',
        knownLabel: true,
      }),
    ).rejects.toMatchObject({ code: 'invalid_image', status: 400 });
    const big = encodePng({ width: 64, height: 64, data: new Uint8Array(64 * 64), channels: 1, depth: 8 });
    await expect(
      saveFeedback(s, 'tiny', { image: big, label: 'left', knownLabel: true, limits: { maxPixels: 1000 } }),
    ).rejects.toMatchObject({ code: 'image_too_large', status: 413 });
    await expect(
      saveFeedback(s, 'tiny', { image: big, label: 'left', knownLabel: true, limits: { maxBytes: 10 } }),
    ).rejects.toMatchObject({ status: 413 });
    expect((await s.list('datasets/')).objects).toHaveLength(0);
  });

  it('rejects unknown labels unless the policy allows new classes', () => {
    const policy = RetrainPolicySchema.parse({});
    expect(checkLabel('left', ['left', 'right'], policy)).toBe(true);
    expect(() => checkLabel('up', ['left', 'right'], policy)).toThrow(/unknown label "up"/);
    expect(() => checkLabel('up', ['left', 'right'], null)).toThrow(/unknown label/);
    expect(checkLabel('up', ['left', 'right'], { ...policy, allowNewClasses: true })).toBe(false);
  });
});

describe('is retraining due? (scheduler)', () => {
  it('counts only feedback newer than the newest version and creates one job when enough arrived', async () => {
    const { store: s } = await store();
    const t0 = new Date(Date.now() - 86_400_000);
    await publishWeakStable(s, 'tiny', t0);
    await updatePolicy(s, 'tiny', { minNewSamples: 5 });
    const samples = makeSamples(21, 7);
    await addFeedback(s, 'tiny', samples.slice(0, 2), new Date(t0.getTime() - 60_000)); // before v1: old
    await addFeedback(s, 'tiny', samples.slice(2, 6), new Date(t0.getTime() + 60_000));
    let due = await checkRetrainDue(s, 'tiny', RetrainPolicySchema.parse({ minNewSamples: 5 }));
    expect(due).toMatchObject({ due: false, newSamples: 4, newestVersion: 'v1' });
    expect((await scheduleRetraining(s))[0]).toMatchObject({ model: 'tiny', job: null });
    await addFeedback(s, 'tiny', samples.slice(6), new Date(t0.getTime() + 120_000));
    due = await checkRetrainDue(s, 'tiny', RetrainPolicySchema.parse({ minNewSamples: 5 }));
    expect(due).toMatchObject({ due: true, newSamples: 5 });
    const first = await scheduleRetraining(s);
    const second = await scheduleRetraining(s);
    expect(first[0]!.job?.created).toBe(true);
    expect(second[0]!.job).toEqual({ id: first[0]!.job!.id, created: false });
    const pending = await listJobs(s, 'pending');
    expect(pending).toHaveLength(1);
    expect(pending[0]!.trigger).toMatchObject({
      newSamples: 5,
      newestVersion: 'v1',
      since: t0.toISOString(),
    });
  });

  it('max age: due when the newest version is older and there is new feedback, not without', async () => {
    const { store: s } = await store();
    const now = new Date();
    const t0 = new Date(now.getTime() - 8 * 86_400_000);
    await publishWeakStable(s, 'tiny', t0);
    const policy = RetrainPolicySchema.parse({ minNewSamples: 100, maxAgeSeconds: parseDuration('7d') });
    expect(await checkRetrainDue(s, 'tiny', policy, now)).toMatchObject({ due: false, newSamples: 0 });
    await addFeedback(s, 'tiny', makeSamples(22, 1), new Date(now.getTime() - 1000));
    const due = await checkRetrainDue(s, 'tiny', policy, now);
    expect(due).toMatchObject({ due: true, newSamples: 1 });
    expect(due.ageSeconds).toBeGreaterThan(7 * 86_400);
    expect(await checkRetrainDue(s, 'tiny', { ...policy, maxAgeSeconds: 9 * 86_400 }, now)).toMatchObject({
      due: false,
    });
  });

  it('models without a policy are never scheduled', async () => {
    const { store: s } = await store();
    await publishWeakStable(s, 'tiny', new Date(Date.now() - 1000));
    await addFeedback(s, 'tiny', makeSamples(23, 3));
    expect(await scheduleRetraining(s)).toEqual([]);
    expect(await listJobs(s, 'pending')).toHaveLength(0);
  });
});

describe('evaluation gate (decideCanary)', () => {
  const outcome = (c: number, s: number) =>
    RetrainOutcomeSchema.parse({
      candidateVersion: 'v2',
      candidateMetrics: { accuracy: c, loss: 1 - c },
      stableMetrics: { accuracy: s, loss: 1 - s },
    });
  const policy = RetrainPolicySchema.parse({ minImprovement: 0.01, canaryWeight: 10 });
  it('routes only when the margin is met, on the configured metric and direction', () => {
    expect(decideCanary(outcome(0.9, 0.89), policy)).toMatchObject({ routed: true, improvement: 0.01 });
    expect(decideCanary(outcome(0.899, 0.89), policy)).toMatchObject({ routed: false });
    expect(decideCanary(outcome(0.8, 0.9), policy)).toMatchObject({ routed: false, improvement: -0.1 });
    const byLoss = { ...policy, metric: 'loss', metricGoal: 'min' as const };
    expect(decideCanary(outcome(0.95, 0.9), byLoss)).toMatchObject({ routed: true, improvement: 0.05 });
    expect(decideCanary(outcome(0.95, 0.9), { ...policy, canaryWeight: 0 }).routed).toBe(false);
    expect(decideCanary(outcome(0.95, 0.9), { ...policy, metric: 'f1' }).reason).toMatch(/no finite "f1"/);
  });
});

describe('--device', () => {
  it('auto picks the CUDA EP only when its library is present; cuda errors without it', async () => {
    const { dir } = await store();
    const empty = path.join(dir, 'bin-cpu');
    const withCuda = path.join(dir, 'bin-cuda');
    await mkdir(empty, { recursive: true });
    await mkdir(withCuda, { recursive: true });
    await writeFile(path.join(withCuda, CUDA_PROVIDER_LIB), '');
    const lines: string[] = [];
    expect(resolveDevice('auto', { binDir: empty, log: (m) => lines.push(m) })).toMatchObject({
      device: 'cpu',
      executionProviders: ['cpu'],
    });
    expect(resolveDevice('auto', { binDir: withCuda, log: (m) => lines.push(m) })).toMatchObject({
      device: 'cuda',
      executionProviders: ['cuda', 'cpu'],
    });
    expect(lines[0]).toMatch(/^device: cpu: no CUDA execution provider/);
    expect(lines[1]).toMatch(/^device: cuda: onnxruntime-node CUDA execution provider found/);
    expect(() => resolveDevice('cuda', { binDir: empty })).toThrow(
      /CUDA execution provider is not installed/,
    );
    expect(resolveDevice('cpu', { binDir: withCuda }).device).toBe('cpu');
  });
});
