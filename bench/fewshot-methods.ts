/**
 * Which prototype method (`npm run bench:fewshot-methods`): held-out accuracy of nearest-class-mean
 * variants against `edgetune train`'s trained linear head, over several seeds (each seed draws
 * other examples and other held-out images), at 5 and 10 examples per class, on the OpenCV digits
 * sheet with the quick demo's mnist backbone and on photo crops with nsfwjs MobileNetV2. The
 * variants are the cheap published fixes for nearest-class-mean heads (SimpleShot's centring
 * before L2 normalisation, a power transform) and a k-NN over the examples, k by leave-one-out.
 * Written to bench/fewshot-methods-results.json; prints a table of mean ± standard deviation.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { encodeModel } from '../shared/onnx/proto.ts';
import { cutAt } from '../shared/onnx/surgery.ts';
import { decodeTargetFor } from '../shared/preprocess/preprocess.ts';
import {
  type FitOptions,
  fitPrototypeHead,
  type PrototypeExample,
  prototypeProbabilities,
} from '../shared/prototype/head.ts';
import { fitKnn, fitSoftKnn, knnPredict, softKnnPredict } from './fewshot-knn.ts';
import { loadDataset } from '../training/datasets/index.ts';
import { extractFeatures } from '../training/features/extract.ts';
import { resolveBackbone } from '../training/train/backbone.ts';
import { cachedPretrainedBackbone } from '../training/train/cached-backbone.ts';
import { QUICK } from '../training/demo/profile.ts';
import { planFreeze } from '../training/train/plan.ts';
import { runTraining } from '../training/train/run.ts';
import { projectRoot } from '../local-edge/bundle.ts';
import { type PhotoClass, photoExamples } from './prototype-fixtures.ts';
import { round } from './stats.ts';

const SEEDS = (process.env.FEWSHOT_SEEDS ?? '1,2,3,4,5').split(',').map(Number);
const SHOTS = [5, 10];
const LINEAR = process.env.FEWSHOT_LINEAR !== '0';
const CLASSES: PhotoClass[] = ['cat', 'coffee', 'galaxies'];
const started = performance.now();
const log = (m: string) =>
  console.error(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}`);

type Rows = { labels: number[]; rows: Float32Array[]; names: string[] };

interface Case {
  data: string;
  backbone: string;
  train: (seed: number, shots: number) => string;
  test: (seed: number) => string;
  /** Unlabelled images of the backbone's own training data, for the "base mean" variant. */
  base?: string;
}

function tmp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `edgetune-fewshot-${prefix}-`));
}

function photoFolder(dir: string, first: number, count: number): string {
  for (const e of photoExamples(CLASSES, count, first)) {
    fs.mkdirSync(path.join(dir, e.label), { recursive: true });
    const n = fs.readdirSync(path.join(dir, e.label)).length;
    fs.writeFileSync(path.join(dir, e.label, `${first}-${n}.png`), e.png);
  }
  return dir;
}

async function embed(backboneSpec: string, spec: string, cacheDir: string, tmpDir: string): Promise<Rows> {
  const backbone = await resolveBackbone(backboneSpec, () => undefined);
  const plan = await planFreeze(backbone, undefined, 0);
  const data = await loadDataset(spec, { seed: 1, cwd: tmpDir, ...decodeTargetFor(backbone.preprocess) });
  const ex = await extractFeatures(
    {
      bytes: () => encodeModel(cutAt(backbone.model, plan.boundary)),
      backboneSha256: backbone.sha256,
      boundary: plan.boundary,
      itemDims: plan.boundaryDims,
      preprocess: backbone.preprocess,
    },
    data.samples,
    { cacheDir, label: 'embedding' },
  );
  const dim = plan.boundaryDims.reduce((a, b) => a * b, 1);
  return {
    labels: data.samples.map((s) => s.label),
    rows: data.samples.map((_, i) => ex.data.slice(i * dim, (i + 1) * dim)),
    names: data.labels,
  };
}

function mean(rows: readonly Float32Array[]): Float32Array {
  const m = new Float32Array(rows[0]!.length);
  for (const r of rows) for (let d = 0; d < m.length; d++) m[d]! += r[d]! / rows.length;
  return m;
}

const power = (r: Float32Array) => r.map((x) => Math.sqrt(Math.max(x, 0)));

type Method = (train: Rows, test: Rows, base?: Float32Array) => { accuracy: number; loo: number };

/** `options` as fitPrototypeHead takes them; 'base' centres on the backbone's training data. */
function prototypeMethod(
  options: Omit<FitOptions, 'centre'> & { centre?: FitOptions['centre'] | 'base' },
): Method {
  return (train, test, base) => {
    const examples: PrototypeExample[] = train.rows.map((embedding, i) => ({
      label: train.names[train.labels[i]!]!,
      embedding,
    }));
    const centre = options.centre === 'base' ? base! : options.centre;
    const head = fitPrototypeHead(examples, train.names, { ...options, centre });
    let right = 0;
    test.rows.forEach((r, i) => {
      const p = prototypeProbabilities(head, r);
      let best = 0;
      for (let k = 1; k < p.length; k++) if (p[k]! > p[best]!) best = k;
      if (head.labels[best] === test.names[test.labels[i]!]) right++;
    });
    return { accuracy: right / test.rows.length, loo: head.leaveOneOutAccuracy };
  };
}

const knnMethod: Method = (train, test) => {
  const examples = train.rows.map((embedding, i) => ({ label: train.names[train.labels[i]!]!, embedding }));
  const knn = fitKnn(examples, mean(train.rows));
  let right = 0;
  test.rows.forEach((r, i) => {
    if (knnPredict(knn, r) === test.names[test.labels[i]!]) right++;
  });
  return { accuracy: right / test.rows.length, loo: knn.leaveOneOutAccuracy };
};

function softKnnMethod(transform: (r: Float32Array) => Float32Array, centred: boolean): Method {
  return (train, test) => {
    const tr = train.rows.map(transform);
    const examples = tr.map((embedding, i) => ({ label: train.names[train.labels[i]!]!, embedding }));
    const m = fitSoftKnn(examples, centred ? mean(tr) : new Float32Array(tr[0]!.length));
    let right = 0;
    test.rows.forEach((r, i) => {
      if (softKnnPredict(m, transform(r)) === test.names[test.labels[i]!]) right++;
    });
    return { accuracy: right / test.rows.length, loo: m.leaveOneOutAccuracy };
  };
}

const identity = (r: Float32Array) => r;
const METHODS: Record<string, Method> = {
  'L2N (the earlier head)': prototypeMethod({ power: false, centre: 'none' }),
  'CL2N, examples mean': prototypeMethod({ power: false, centre: 'examples' }),
  'CL2N, base mean': prototypeMethod({ power: false, centre: 'base' }),
  'sqrt + L2N': prototypeMethod({ power: true, centre: 'none' }),
  'sqrt + CL2N, examples mean (the head now)': prototypeMethod({}),
  'k-NN (CL2N, k by LOO)': knnMethod,
  'soft k-NN (L2N)': softKnnMethod(identity, false),
  'soft k-NN (CL2N)': softKnnMethod(identity, true),
  'soft k-NN (sqrt + CL2N)': softKnnMethod(power, true),
};

interface Result {
  data: string;
  backbone: string;
  shots: number;
  seed: number;
  method: string;
  accuracy: number;
  leave_one_out: number;
}

async function main(): Promise<void> {
  const work = tmp('methods');
  const cacheDir = path.join(work, 'features');
  const digits = (await cachedPretrainedBackbone({ ...QUICK.pretrain, backend: 'wasm' })).path;
  const cases: Case[] = [
    {
      data: 'OpenCV digits sheet',
      backbone: digits,
      train: (seed, shots) => `opencv-digits:per-class=${shots}:seed=${seed}`,
      test: (seed) => `opencv-digits:skip-per-class=10:per-class=100:seed=${seed}`,
      base: 'mnist:per-class=200',
    },
    {
      data: 'photo crops (cat, coffee, galaxies)',
      backbone: 'nsfwjs:MobileNetV2',
      // Seed s: crops 100·s onwards for the examples, 100·s + 40 onwards held out.
      train: (seed, shots) =>
        `folder:${photoFolder(path.join(work, `p${seed}-${shots}`), 100 * seed, shots)}`,
      test: (seed) => `folder:${photoFolder(path.join(work, `p${seed}-test`), 100 * seed + 40, 20)}`,
    },
  ];
  const results: Result[] = [];
  for (const c of cases) {
    const base = c.base ? mean((await embed(c.backbone, c.base, cacheDir, work)).rows) : undefined;
    for (const shots of SHOTS) {
      for (const seed of SEEDS) {
        const trainSpec = c.train(seed, shots);
        const testSpec = c.test(seed);
        const train = await embed(c.backbone, trainSpec, cacheDir, work);
        const test = await embed(c.backbone, testSpec, cacheDir, work);
        const add = (method: string, accuracy: number, loo: number) => {
          results.push({
            data: c.data,
            backbone: c.backbone,
            shots,
            seed,
            method,
            accuracy,
            leave_one_out: loo,
          });
          log(`${c.data}, ${shots} shots, seed ${seed}: ${method} ${(accuracy * 100).toFixed(1)} %`);
        };
        for (const [name, m] of Object.entries(METHODS)) {
          if (name.startsWith('CL2N, base') && !base) continue;
          const r = m(train, test, base);
          add(name, r.accuracy, r.loo);
        }
        if (LINEAR) {
          const r = await runTraining({
            backbone: c.backbone,
            data: trainSpec,
            testData: testSpec,
            name: 'fewshot',
            seed,
            out: path.join(work, 'runs', `${results.length}`),
            cacheDir,
            cwd: work,
          });
          add('trained linear head', r.accuracy, Number.NaN);
        }
      }
    }
  }
  fs.rmSync(work, { recursive: true, force: true });
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown';
  const summary = summarise(results);
  fs.writeFileSync(
    path.join(projectRoot, 'bench', 'fewshot-methods-results.json'),
    `${JSON.stringify({ cpu, date: new Date().toISOString(), seeds: SEEDS, summary, results }, null, 2)}\n`,
  );
  console.log(`seeds ${SEEDS.join(', ')}; held-out accuracy, mean ± sd over seeds\n`);
  console.log('| data | examples per class | method | held-out accuracy | leave-one-out |');
  console.log('|---|---|---|---|---|');
  for (const s of summary) {
    const loo = Number.isNaN(s.leave_one_out) ? '' : `${s.leave_one_out} %`;
    console.log(`| ${s.data} | ${s.shots} | ${s.method} | ${s.mean} ± ${s.sd} % | ${loo} |`);
  }
}

function summarise(results: Result[]) {
  const groups = new Map<string, Result[]>();
  for (const r of results) {
    const k = `${r.data}\u0000${r.shots}\u0000${r.method}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const acc = g.map((r) => r.accuracy * 100);
    const m = acc.reduce((a, b) => a + b, 0) / acc.length;
    const sd = Math.sqrt(acc.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, acc.length - 1));
    const loo = g.map((r) => r.leave_one_out * 100).reduce((a, b) => a + b, 0) / g.length;
    return {
      data: g[0]!.data,
      shots: g[0]!.shots,
      method: g[0]!.method,
      mean: round(m, 1),
      sd: round(sd, 1),
      leave_one_out: round(loo, 1),
      seeds: g.length,
    };
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
