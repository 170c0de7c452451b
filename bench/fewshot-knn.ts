/**
 * k-NN over a prototype version's stored examples, measured against the nearest-class-mean head
 * by `bench/fewshot-methods.ts` (the optional `method: "knn"` of the few-shot design). Cosine on
 * centred, L2-normalised embeddings (the same representation as the prototype head); k is the odd
 * k with the best leave-one-out accuracy on the examples; a vote tie goes to the class with the
 * larger summed similarity.
 */
import type { PrototypeExample } from '../shared/prototype/head.ts';

export interface KnnModel {
  labels: string[];
  rows: Float64Array[];
  classes: number[];
  centre: Float32Array;
  k: number;
  leaveOneOutAccuracy: number;
}

function centredUnit(v: Float32Array, centre: Float32Array): Float64Array {
  const x = Float64Array.from(v, (e, d) => e - centre[d]!);
  const n = Math.sqrt(x.reduce((a, b) => a + b * b, 0));
  return n > 0 ? x.map((e) => e / n) : x;
}

function vote(sims: readonly { s: number; c: number }[], k: number, classes: number): number {
  const count = new Float64Array(classes);
  const sum = new Float64Array(classes);
  for (const { s, c } of sims.slice(0, k)) {
    count[c]!++;
    sum[c]! += s;
  }
  let best = 0;
  for (let c = 1; c < classes; c++)
    if (count[c]! > count[best]! || (count[c] === count[best] && sum[c]! > sum[best]!)) best = c;
  return best;
}

function ranked(model: Pick<KnnModel, 'rows' | 'classes'>, u: Float64Array, skip = -1) {
  const sims: { s: number; c: number }[] = [];
  model.rows.forEach((r, i) => {
    if (i === skip) return;
    let s = 0;
    for (let d = 0; d < r.length; d++) s += r[d]! * u[d]!;
    sims.push({ s, c: model.classes[i]! });
  });
  return sims.sort((a, b) => b.s - a.s);
}

export function fitKnn(examples: readonly PrototypeExample[], centre: Float32Array): KnnModel {
  const labels = [...new Set(examples.map((e) => e.label))];
  const rows = examples.map((e) => centredUnit(e.embedding, centre));
  const classes = examples.map((e) => labels.indexOf(e.label));
  const loo = rows.map((u, i) => ranked({ rows, classes }, u, i));
  let k = 1;
  let bestRight = -1;
  for (let kk = 1; kk < rows.length; kk += 2) {
    const right = loo.filter((sims, i) => vote(sims, kk, labels.length) === classes[i]).length;
    if (right > bestRight) {
      bestRight = right;
      k = kk;
    }
  }
  return { labels, rows, classes, centre, k, leaveOneOutAccuracy: bestRight / rows.length };
}

export function knnPredict(model: KnnModel, embedding: Float32Array): string {
  const sims = ranked(model, centredUnit(embedding, model.centre));
  return model.labels[vote(sims, model.k, model.labels.length)]!;
}

/**
 * Soft k-NN ("attention over the examples"): p(class) = Σ over that class's examples of
 * softmax(cosine / t); t by leave-one-out likelihood. Expressible with the head's ops (MatMul
 * against the examples, Softmax, MatMul with a one-hot matrix).
 */
export interface SoftKnnModel {
  labels: string[];
  rows: Float64Array[];
  classes: number[];
  centre: Float32Array;
  t: number;
  leaveOneOutAccuracy: number;
}

const TEMPS = Array.from({ length: 41 }, (_, i) => 0.005 * 200 ** (i / 40));

function softScores(
  rows: Float64Array[],
  classes: number[],
  k: number,
  u: Float64Array,
  t: number,
  skip = -1,
) {
  const sims = rows.map((r, i) => (i === skip ? -Infinity : r.reduce((a, x, d) => a + x * u[d]!, 0)));
  const max = Math.max(...sims);
  const p = new Float64Array(k);
  let sum = 0;
  sims.forEach((s, i) => {
    if (i === skip) return;
    const e = Math.exp((s - max) / t);
    p[classes[i]!]! += e;
    sum += e;
  });
  return p.map((x) => x / sum);
}

export function fitSoftKnn(examples: readonly PrototypeExample[], centre: Float32Array): SoftKnnModel {
  const labels = [...new Set(examples.map((e) => e.label))];
  const rows = examples.map((e) => centredUnit(e.embedding, centre));
  const classes = examples.map((e) => labels.indexOf(e.label));
  let best = { t: TEMPS[0]!, nll: Infinity, acc: 0 };
  for (const t of TEMPS) {
    let nll = 0;
    let right = 0;
    rows.forEach((u, i) => {
      const p = softScores(rows, classes, labels.length, u, t, i);
      nll -= Math.log(Math.max(p[classes[i]!]!, 1e-12));
      let b = 0;
      for (let c = 1; c < p.length; c++) if (p[c]! > p[b]!) b = c;
      if (b === classes[i]) right++;
    });
    if (nll < best.nll) best = { t, nll, acc: right / rows.length };
  }
  return { labels, rows, classes, centre, t: best.t, leaveOneOutAccuracy: best.acc };
}

export function softKnnPredict(model: SoftKnnModel, embedding: Float32Array): string {
  const p = softScores(
    model.rows,
    model.classes,
    model.labels.length,
    centredUnit(embedding, model.centre),
    model.t,
  );
  let b = 0;
  for (let c = 1; c < p.length; c++) if (p[c]! > p[b]!) b = c;
  return model.labels[b]!;
}
