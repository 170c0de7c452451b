/**
 * Prototype (nearest-class-mean) heads: each class is the mean of its examples' L2-normalised
 * embeddings, and an embedding scores softmax(cosine / temperature) against the class means. No
 * gradient descent: a head is fitted from a handful of examples in milliseconds, in Node or in
 * workerd. The temperature is the one that makes the leave-one-out predictions most likely, so
 * the probabilities are calibrated on examples the head did not see.
 */
import { EdgetuneError } from '../errors.ts';

export interface PrototypeExample {
  label: string;
  embedding: Float32Array;
}

export interface PrototypeHead {
  labels: string[];
  dim: number;
  /** Unit-length class means, row-major [labels.length, dim]. */
  prototypes: Float32Array;
  temperature: number;
  /** Share of examples whose own class wins when that example is left out of its class mean. */
  leaveOneOutAccuracy: number;
}

/** Candidate temperatures, log-spaced: cosines live in [-1, 1], so 0.005..1 spans sharp to flat. */
const TEMPERATURES = Array.from({ length: 41 }, (_, i) => 0.005 * 200 ** (i / 40));

function unit(v: Float32Array): Float64Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0;
  return Float64Array.from(v, (x) => x * scale);
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function normalised(sum: Float64Array, count: number): Float64Array {
  let n = 0;
  for (const x of sum) n += (x / count) ** 2;
  const scale = n > 0 ? 1 / (count * Math.sqrt(n)) : 0;
  return sum.map((x) => x * scale);
}

/** softmax(logits / t), stable. */
export function softmax(logits: ArrayLike<number>, t = 1): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]! / t);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    out[i] = Math.exp(logits[i]! / t - max);
    sum += out[i]!;
  }
  return out.map((v) => v / sum);
}

/**
 * Fits a head. Every class needs at least two examples (leave-one-out needs one left over);
 * labels keep the order of `labelOrder` when given, else of first appearance.
 */
export function fitPrototypeHead(
  examples: readonly PrototypeExample[],
  labelOrder?: readonly string[],
): PrototypeHead {
  if (examples.length === 0) throw new EdgetuneError('bad_request', 'no examples');
  const dim = examples[0]!.embedding.length;
  const labels = [...new Set([...(labelOrder ?? []), ...examples.map((e) => e.label)])];
  if (labels.length < 2) {
    throw new EdgetuneError('bad_request', `a classifier needs at least 2 classes; got only ${labels[0]}`);
  }
  const units = examples.map((e) => {
    if (e.embedding.length !== dim) {
      throw new EdgetuneError('bad_request', `embeddings differ in size (${e.embedding.length} vs ${dim})`);
    }
    return unit(e.embedding);
  });
  const cls = examples.map((e) => labels.indexOf(e.label));
  const sums = labels.map(() => new Float64Array(dim));
  const counts = labels.map(() => 0);
  units.forEach((u, i) => {
    const s = sums[cls[i]!]!;
    for (let d = 0; d < dim; d++) s[d]! += u[d]!;
    counts[cls[i]!]!++;
  });
  counts.forEach((n, c) => {
    if (n < 2) {
      throw new EdgetuneError(
        'bad_request',
        `class ${JSON.stringify(labels[c])} has ${n} example${n === 1 ? '' : 's'}; each class needs at least 2`,
      );
    }
  });
  const protos = sums.map((s, c) => normalised(s, counts[c]!));

  // Leave-one-out cosines: the example's own class mean is recomputed without it.
  const looCosines = units.map((u, i) => {
    const own = cls[i]!;
    return protos.map((p, c) => {
      if (c !== own) return dot(u, p);
      const rest = sums[own]!.map((x, d) => x - u[d]!);
      return dot(u, normalised(rest, counts[own]! - 1));
    });
  });
  let correct = 0;
  looCosines.forEach((cos, i) => {
    let best = 0;
    for (let c = 1; c < cos.length; c++) if (cos[c]! > cos[best]!) best = c;
    if (best === cls[i]) correct++;
  });
  let temperature = TEMPERATURES[0]!;
  let bestNll = Infinity;
  for (const t of TEMPERATURES) {
    let nll = 0;
    looCosines.forEach((cos, i) => {
      nll -= Math.log(Math.max(softmax(cos, t)[cls[i]!]!, 1e-12));
    });
    if (nll < bestNll) {
      bestNll = nll;
      temperature = t;
    }
  }
  const prototypes = new Float32Array(labels.length * dim);
  for (const [c, p] of protos.entries()) prototypes.set(p, c * dim);
  return { labels, dim, prototypes, temperature, leaveOneOutAccuracy: correct / examples.length };
}

/** The head's probabilities for one embedding: what the exported graph computes. */
export function prototypeProbabilities(head: PrototypeHead, embedding: Float32Array): Float64Array {
  const u = unit(embedding);
  const cos = head.labels.map((_, c) => {
    let s = 0;
    for (let d = 0; d < head.dim; d++) s += u[d]! * head.prototypes[c * head.dim + d]!;
    return s;
  });
  return softmax(cos, head.temperature);
}
