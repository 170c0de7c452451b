import type { GateComparison, GateDecision, RetrainOutcome, RetrainPolicy } from './schema.ts';

/**
 * The evaluation gate: route the candidate only when it beats the stable version AND every live
 * canary on the policy's metric, all measured on the same holdout, by at least `minImprovement`.
 * A model keeps one live canary: the winner replaces the canaries it beat, so the candidates'
 * weights never add up beyond the policy's canary weight and no version reaches traffic without
 * having been compared with the one it competes with. Anything missing or not a finite number is
 * a rejection — a gate that cannot compare must not let the candidate through.
 *
 * `liveCanaries` are the routing's candidates when the decision is taken (default: those the
 * retrain step measured); a canary the step did not measure fails its comparison.
 */
export function decideCanary(
  outcome: RetrainOutcome,
  policy: RetrainPolicy,
  liveCanaries: readonly string[] = Object.keys(outcome.canaryMetrics),
): GateDecision {
  const metric = policy.metric;
  const candidate = finite(outcome.candidateMetrics[metric]);
  const stable = finite(outcome.stableMetrics[metric]);
  const base = {
    metric,
    candidate,
    stable,
    minImprovement: policy.minImprovement,
    canaryWeight: policy.canaryWeight,
    replaced: [] as string[],
  };
  if (candidate === null) {
    return {
      ...base,
      routed: false,
      improvement: null,
      reason: `candidate has no finite "${metric}" metric`,
      comparisons: [],
    };
  }
  const comparisons: GateComparison[] = [
    compare('stable', outcome.stableVersion ?? null, candidate, stable, policy),
    ...liveCanaries.map((v) =>
      compare('canary', v, candidate, finite(outcome.canaryMetrics[v]?.[metric]), policy),
    ),
  ];
  const improvement = comparisons[0]!.improvement;
  const failed = comparisons.filter((c) => !c.passed);
  const shown = comparisons.map((c) => c.reason).join('; ');
  if (failed.length > 0) {
    return { ...base, routed: false, improvement, reason: `rejected: ${shown}`, comparisons };
  }
  if (policy.canaryWeight === 0) {
    return {
      ...base,
      routed: false,
      improvement,
      reason: `better (${shown}) but the policy's canary weight is 0`,
      comparisons,
    };
  }
  const replacing = liveCanaries.length > 0 ? `, replacing canary ${liveCanaries.join(', ')}` : '';
  return {
    ...base,
    routed: true,
    improvement,
    reason: `accepted: ${shown}; canary weight ${policy.canaryWeight}%${replacing}`,
    comparisons,
    replaced: [...liveCanaries],
  };
}

function compare(
  against: 'stable' | 'canary',
  version: string | null,
  candidate: number,
  other: number | null,
  policy: RetrainPolicy,
): GateComparison {
  const metric = policy.metric;
  const name = `${against}${version ? ` ${version}` : ''}`;
  if (other === null) {
    return {
      against,
      version,
      candidate,
      other,
      improvement: null,
      passed: false,
      reason: `${name} has no finite "${metric}" metric on the holdout`,
    };
  }
  const raw = policy.metricGoal === 'max' ? candidate - other : other - candidate;
  // Round away float noise (0.9 - 0.89 = 0.010000000000000009) before comparing with the margin.
  const improvement = Math.round(raw * 1e9) / 1e9;
  const need = `${policy.metricGoal === 'max' ? '+' : '-'}${fmt(policy.minImprovement)}`;
  return {
    against,
    version,
    candidate,
    other,
    improvement,
    passed: improvement >= policy.minImprovement,
    reason: `${metric} ${fmt(candidate)} vs ${name} ${fmt(other)} (${improvement >= 0 ? '+' : ''}${fmt(improvement)}, need ${need})`,
  };
}

function finite(v: number | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function fmt(v: number): string {
  return Number(v.toFixed(6)).toString();
}
