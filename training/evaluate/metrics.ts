/** Classification metrics from predicted probabilities: accuracy, per-class P/R/F1, confusion matrix. */

export interface ClassMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** True samples of this class. */
  support: number;
}

export interface Evaluation {
  samples: number;
  accuracy: number;
  /** Mean cross-entropy of the true class. */
  loss: number;
  macroF1: number;
  perClass: ClassMetrics[];
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  /** Predicted class per sample. */
  predicted: number[];
}

export function argmaxRows(probs: Float32Array, classes: number): number[] {
  const n = probs.length / classes;
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let arg = 0;
    for (let k = 1; k < classes; k++) if (probs[i * classes + k]! > probs[i * classes + arg]!) arg = k;
    out[i] = arg;
  }
  return out;
}

export function evaluatePredictions(
  probs: Float32Array,
  y: ArrayLike<number>,
  labels: readonly string[],
): Evaluation {
  const classes = labels.length;
  const n = y.length;
  if (probs.length !== n * classes) {
    throw new Error(`internal: ${probs.length} probabilities for ${n} samples × ${classes} classes`);
  }
  const predicted = argmaxRows(probs, classes);
  const confusion = labels.map(() => new Array<number>(classes).fill(0));
  let hits = 0;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const t = y[i]!;
    confusion[t]![predicted[i]!]!++;
    if (predicted[i] === t) hits++;
    loss -= Math.log(Math.min(Math.max(probs[i * classes + t]!, 1e-7), 1));
  }
  const perClass = labels.map((label, c) => {
    const tp = confusion[c]![c]!;
    const support = confusion[c]!.reduce((a, b) => a + b, 0);
    const predictedC = confusion.reduce((a, row) => a + row[c]!, 0);
    const precision = predictedC > 0 ? tp / predictedC : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return { label, precision, recall, f1, support };
  });
  const present = perClass.filter((p) => p.support > 0);
  return {
    samples: n,
    accuracy: n > 0 ? hits / n : 0,
    loss: n > 0 ? loss / n : 0,
    macroF1: present.length > 0 ? present.reduce((a, p) => a + p.f1, 0) / present.length : 0,
    perClass,
    confusion,
    predicted,
  };
}
