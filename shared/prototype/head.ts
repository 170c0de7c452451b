/**
 * Prototype (nearest-class-mean) heads: each class is the mean of its examples' normalised
 * embeddings, and an embedding scores softmax(cosine / temperature) against the class means. No
 * gradient descent: a head is fitted from a handful of examples in milliseconds, in Node or in
 * workerd. The temperature is the one that makes the leave-one-out predictions most likely, so
 * the probabilities are calibrated on examples the head did not see.
 *
 * Normalising is more than L2 by default, because that is what closes the gap to a trained linear
 * head (`npm run bench:fewshot-methods`, 5 seeds): a square root of the embedding when it is a
 * ReLU layer's output (every example ≥ 0; it damps the few large activations that dominate a
 * cosine), then the examples' mean subtracted before L2 normalisation (SimpleShot's "CL2N": the
 * embeddings of a ReLU network share one large positive direction, which makes every cosine high
 * and the class means close).
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
  /** Whether an embedding goes through sqrt(max(x, 0)) first. */
  power: boolean;
  /** Subtracted (after the square root) before L2 normalisation; absent: no centring. */
  centre?: Float32Array;
  temperature: number;
  /** Share of examples whose own class wins when that example is left out of its class mean. */
  leaveOneOutAccuracy: number;
}

/** Candidate temperatures, log-spaced: cosines live in [-1, 1], so 0.005..1 spans sharp to flat. */
const TEMPERATURES = Array.from({ length: 41 }, (_, i) => 0.005 * 200 ** (i / 40));

/** The representation the head compares: optional sqrt, optional centring, then unit length. */
function unit(v: Float32Array, t: Pick<PrototypeHead, 'power' | 'centre'>): Float64Array {
  // In float32 steps, as the exported graph computes them.
  const p = t.power ? v.map((e) => Math.sqrt(Math.max(e, 0))) : v;
  const c = t.centre;
  const x = Float64Array.from(c ? p.map((e, d) => e - c[d]!) : p);
  let sum = 0;
  for (const e of x) sum += e * e;
  const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0;
  return x.map((e) => e * scale);
}

export interface FitOptions {
  /** Square root first: 'auto' (the default) when every example's embedding is ≥ 0. */
  power?: boolean | 'auto';
  /**
   * Subtracted before L2 normalisation: 'examples' (the default) is the mean of the examples'
   * (square-rooted) embeddings; 'none' leaves them as they are.
   */
  centre?: 'examples' | 'none' | Float32Array;
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
  options: FitOptions = {},
): PrototypeHead {
  if (examples.length === 0) throw new EdgetuneError('bad_request', 'no examples');
  const dim = examples[0]!.embedding.length;
  const labels = [...new Set([...(labelOrder ?? []), ...examples.map((e) => e.label)])];
  if (labels.length < 2) {
    throw new EdgetuneError('bad_request', `a classifier needs at least 2 classes; got only ${labels[0]}`);
  }
  for (const e of examples) {
    if (e.embedding.length !== dim) {
      throw new EdgetuneError('bad_request', `embeddings differ in size (${e.embedding.length} vs ${dim})`);
    }
  }
  const power =
    options.power === 'auto' || options.power === undefined
      ? examples.every((e) => e.embedding.every((x) => x >= 0))
      : options.power;
  const centre = centreOf(examples, power, options.centre ?? 'examples');
  const transform = { power, ...(centre ? { centre } : {}) };
  const units = examples.map((e) => unit(e.embedding, transform));
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
  return {
    labels,
    dim,
    prototypes,
    temperature,
    leaveOneOutAccuracy: correct / examples.length,
    ...transform,
  };
}

function centreOf(
  examples: readonly PrototypeExample[],
  power: boolean,
  centre: NonNullable<FitOptions['centre']>,
): Float32Array | undefined {
  if (centre === 'none') return undefined;
  const dim = examples[0]!.embedding.length;
  if (centre !== 'examples') {
    if (centre.length !== dim) {
      throw new EdgetuneError(
        'bad_request',
        `the centre has ${centre.length} values; embeddings have ${dim}`,
      );
    }
    return Float32Array.from(centre);
  }
  const sum = new Float64Array(dim);
  for (const e of examples) {
    const v = power ? e.embedding.map((x) => Math.sqrt(Math.max(x, 0))) : e.embedding;
    for (let d = 0; d < dim; d++) sum[d]! += v[d]!;
  }
  return Float32Array.from(sum, (x) => x / examples.length);
}

/** The head's probabilities for one embedding: what the exported graph computes. */
export function prototypeProbabilities(head: PrototypeHead, embedding: Float32Array): Float64Array {
  const u = unit(embedding, head);
  const cos = head.labels.map((_, c) => {
    let s = 0;
    for (let d = 0; d < head.dim; d++) s += u[d]! * head.prototypes[c * head.dim + d]!;
    return s;
  });
  return softmax(cos, head.temperature);
}
