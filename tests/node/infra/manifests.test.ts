import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

/**
 * infra/k8s/*.yaml must parse and carry what the retraining setup relies on: the scheduled
 * worker runs `edgetune worker --once`, GPU variants ask for `nvidia.com/gpu`, store credentials
 * come from a Secret, and a CPU variant exists for clusters without GPUs.
 */
const root = path.resolve(import.meta.dirname, '../../..');
const k8sDir = path.join(root, 'infra/k8s');

type Doc = Record<string, unknown>;
interface Container {
  name?: string;
  image?: string;
  args?: string[];
  command?: string[];
  envFrom?: { secretRef?: { name?: string } }[];
  env?: { name?: string; valueFrom?: { secretKeyRef?: { name?: string; key?: string } } }[];
  resources?: { limits?: Record<string, unknown>; requests?: Record<string, unknown> };
}

async function loadAll(): Promise<{ file: string; doc: Doc }[]> {
  const files = (await readdir(k8sDir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const out: { file: string; doc: Doc }[] = [];
  for (const file of files) {
    const docs = parseAllDocuments(await readFile(path.join(k8sDir, file), 'utf8'));
    for (const d of Array.isArray(docs) ? docs : [docs]) {
      expect(d.errors, `${file}: ${d.errors.map((e) => e.message).join('; ')}`).toEqual([]);
      const value = d.toJS() as Doc | null;
      if (value) out.push({ file, doc: value });
    }
  }
  return out;
}

function get(o: unknown, ...p: string[]): unknown {
  return p.reduce<unknown>(
    (v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
    o,
  );
}

function podSpec(doc: Doc): Doc | undefined {
  if (doc.kind === 'CronJob') return get(doc, 'spec', 'jobTemplate', 'spec', 'template', 'spec') as Doc;
  if (doc.kind === 'Job') return get(doc, 'spec', 'template', 'spec') as Doc;
  return undefined;
}

function containers(doc: Doc): Container[] {
  return (get(podSpec(doc), 'containers') as Container[] | undefined) ?? [];
}

const usesGpu = (c: Container) => c.resources?.limits?.['nvidia.com/gpu'] !== undefined;
const secretNames = (c: Container) =>
  [
    ...(c.envFrom ?? []).map((e) => e.secretRef?.name),
    ...(c.env ?? []).map((e) => e.valueFrom?.secretKeyRef?.name),
  ].filter((n): n is string => typeof n === 'string');

describe('infra/k8s manifests', () => {
  it('every document parses and has apiVersion, kind and metadata.name (or generateName)', async () => {
    const docs = await loadAll();
    expect(docs.length).toBeGreaterThanOrEqual(4);
    for (const { file, doc } of docs) {
      expect(typeof doc.apiVersion, file).toBe('string');
      expect(typeof doc.kind, file).toBe('string');
      const meta = doc.metadata as Doc | undefined;
      expect(typeof (meta?.name ?? meta?.generateName), file).toBe('string');
    }
  });

  it('scheduled workers: CronJobs running `edgetune worker --once`, GPU and CPU variants', async () => {
    const docs = await loadAll();
    const secrets = new Set(
      docs.filter(({ doc }) => doc.kind === 'Secret').map(({ doc }) => get(doc, 'metadata', 'name')),
    );
    const crons = docs.filter(({ doc }) => doc.kind === 'CronJob');
    expect(crons.length).toBeGreaterThanOrEqual(2);
    let gpu = 0;
    let cpu = 0;
    for (const { file, doc } of crons) {
      const schedule = get(doc, 'spec', 'schedule');
      expect(typeof schedule, file).toBe('string');
      expect((schedule as string).trim().split(/\s+/), `${file}: five cron fields`).toHaveLength(5);
      expect(get(doc, 'spec', 'concurrencyPolicy'), file).toBe('Forbid');
      expect(get(podSpec(doc), 'restartPolicy'), file).toMatch(/^(Never|OnFailure)$/);
      const [worker] = containers(doc);
      expect(worker, file).toBeDefined();
      const argv = [...(worker!.command ?? []), ...(worker!.args ?? [])];
      const at = argv.indexOf('worker');
      expect(at, `${file}: runs the worker subcommand`).toBeGreaterThanOrEqual(0);
      expect(argv.slice(at), file).toContain('--once');
      expect(argv, `${file}: names the store`).toContain('--store');
      const refs = secretNames(worker!);
      expect(refs.length, `${file}: store credentials from a Secret`).toBeGreaterThan(0);
      for (const r of refs) expect(secrets.has(r), `${file}: secret ${r} is defined in infra/k8s`).toBe(true);
      if (usesGpu(worker!)) {
        gpu++;
        expect(Number(worker!.resources!.limits!['nvidia.com/gpu']), file).toBeGreaterThanOrEqual(1);
        expect(argv[argv.indexOf('--device') + 1], file).toMatch(/^(auto|cuda)$/);
      } else {
        cpu++;
        expect(argv[argv.indexOf('--device') + 1], file).toBe('cpu');
      }
    }
    expect(gpu, 'a GPU CronJob').toBeGreaterThanOrEqual(1);
    expect(cpu, 'a CPU CronJob').toBeGreaterThanOrEqual(1);
  });

  it('every GPU workload limits nvidia.com/gpu and tolerates the GPU taint', async () => {
    const docs = await loadAll();
    const gpuDocs = docs.filter(({ doc }) => containers(doc).some(usesGpu));
    expect(gpuDocs.map(({ file }) => file)).toEqual(
      expect.arrayContaining(['cronjob-worker-gpu.yaml', 'job-train-gpu.yaml']),
    );
    for (const { file, doc } of gpuDocs) {
      const tolerations = (get(podSpec(doc), 'tolerations') as { key?: string }[] | undefined) ?? [];
      expect(
        tolerations.map((t) => t.key),
        file,
      ).toContain('nvidia.com/gpu');
    }
    const job = docs.find(({ doc }) => doc.kind === 'Job');
    expect(job, 'a one-off training Job template').toBeDefined();
  });

  it('feature shards: an Indexed Job runs `features --shard $(JOB_COMPLETION_INDEX)/N`, then the training Job trains on them', async () => {
    const docs = await loadAll();
    const secrets = new Set(
      docs.filter(({ doc }) => doc.kind === 'Secret').map(({ doc }) => get(doc, 'metadata', 'name')),
    );
    const indexed = docs.filter(({ doc }) => get(doc, 'spec', 'completionMode') === 'Indexed');
    expect(indexed.map(({ file }) => file)).toEqual(['job-features-indexed.yaml']);
    const { file, doc } = indexed[0]!;
    expect(doc.kind, file).toBe('Job');
    const completions = get(doc, 'spec', 'completions') as number;
    expect(Number.isInteger(completions) && completions >= 2, `${file}: N ≥ 2 shards`).toBe(true);
    expect(get(doc, 'spec', 'parallelism'), file).toBe(completions);
    expect(get(podSpec(doc), 'restartPolicy'), file).toMatch(/^(Never|OnFailure)$/);
    const [c] = containers(doc);
    const argv = [...(c!.command ?? []), ...(c!.args ?? [])];
    const flag = (args: string[], name: string) => args[args.indexOf(name) + 1];
    expect(argv[0], `${file}: runs the features subcommand`).toBe('features');
    expect(flag(argv, '--shard'), file).toBe(`$(JOB_COMPLETION_INDEX)/${completions}`);
    expect(flag(argv, '--store'), file).toBe('$(EDGETUNE_STORE)');
    const index = (c!.env ?? []).find((e) => e.name === 'JOB_COMPLETION_INDEX') as
      | { valueFrom?: { fieldRef?: { fieldPath?: string } } }
      | undefined;
    expect(index?.valueFrom?.fieldRef?.fieldPath, file).toBe(
      "metadata.annotations['batch.kubernetes.io/job-completion-index']",
    );
    const refs = secretNames(c!);
    expect(refs.length, `${file}: store credentials from a Secret`).toBeGreaterThan(0);
    for (const r of refs) expect(secrets.has(r), `${file}: secret ${r} is defined in infra/k8s`).toBe(true);
    // The training Job that follows reads the same store and asks for the same prefix activations.
    const trainJob = docs.find(({ file: f }) => f === 'job-train-gpu.yaml')!;
    const [t] = containers(trainJob.doc);
    const targv = [...(t!.command ?? []), ...(t!.args ?? [])];
    expect(targv[0]).toBe('train');
    for (const name of ['--backbone', '--data', '--store']) {
      expect(flag(targv, name), `job-train-gpu.yaml ${name} matches ${file}`).toBe(flag(argv, name));
    }
    expect(targv).not.toContain('--feature-layer');
    expect(argv).not.toContain('--feature-layer');
  });

  it('the store Secret holds the S3 credentials and the store URL', async () => {
    const docs = await loadAll();
    const secret = docs.find(({ doc }) => doc.kind === 'Secret');
    const data = { ...(get(secret?.doc, 'stringData') as Doc), ...(get(secret?.doc, 'data') as Doc) };
    expect(Object.keys(data)).toEqual(
      expect.arrayContaining(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'EDGETUNE_STORE']),
    );
  });

  it('infra/Dockerfile.train installs onnxruntime-node with its CUDA 12 binaries on a CUDA base image', async () => {
    const text = await readFile(path.join(root, 'infra/Dockerfile.train'), 'utf8');
    expect(text).toMatch(/^FROM\s+nvidia\/cuda:12[^\s]*/m);
    const runs = text.split(/\n(?=[A-Z]+\s)/).filter((l) => l.startsWith('RUN'));
    expect(runs.some((r) => /ONNXRUNTIME_NODE_INSTALL=cuda12\s+npm\s+(ci|install)/.test(r))).toBe(true);
    expect(text).toMatch(/"worker",\s*"--once"/);
  });
});
