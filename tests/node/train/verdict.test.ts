/**
 * The transfer-vs-scratch verdict advises switching only where the run exports the transfer
 * model: `--select best` and a search that picked the scratch CNN already export the baseline.
 */
import { describe, expect, it } from 'vitest';
import { evaluatePredictions } from '../../../training/evaluate/metrics.ts';
import type { ModelOutcome } from '../../../training/train/options.ts';
import { describeVerdict } from '../../../training/train/stages/baseline.ts';

/** Two samples of classes 0 and 1, `right` of them predicted right. */
function outcome(kind: ModelOutcome['kind'], right: 0 | 1 | 2): ModelOutcome {
  const probs = Float32Array.from(right === 2 ? [1, 0, 0, 1] : right === 1 ? [1, 0, 1, 0] : [0, 1, 1, 0]);
  const e = evaluatePredictions(probs, [0, 1], ['a', 'b']);
  return { kind, heldOut: e, val: e, history: [], seconds: 0 };
}

describe('describeVerdict', () => {
  const transfer = outcome('transfer', 1);
  const baseline = outcome('baseline', 2);

  it('advises --select best only where the transfer model is exported', () => {
    expect(describeVerdict(transfer, baseline)).toBe(
      'The baseline trained from scratch wins: 100.0% vs 50.0% with transfer (-50.0 points). ' +
        'This backbone does not transfer to this task (negative transfer); use --select best or another backbone.',
    );
    for (const exports of ['better', 'baseline'] as const) {
      expect(describeVerdict(transfer, baseline, exports)).toBe(
        'The baseline trained from scratch wins: 100.0% vs 50.0% with transfer (-50.0 points). ' +
          'This backbone does not transfer to this task (negative transfer); the scratch baseline is what this run exports.',
      );
    }
  });

  it('says when transfer wins or ties, whatever is exported', () => {
    expect(describeVerdict(baseline, transfer, 'better')).toBe(
      'Transfer wins: 100.0% vs 50.0% for the scratch baseline (+50.0 points).',
    );
    expect(describeVerdict(transfer, outcome('baseline', 1), 'baseline')).toBe(
      'Transfer and the scratch baseline tie at 50.0%.',
    );
  });
});
