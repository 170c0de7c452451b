import type { GateDecision, RetrainOutcome, RetrainPolicy } from './schema.ts';

/**
 * The evaluation gate: route the candidate only when it beats the stable version on the policy's
 * metric, measured on the same holdout, by at least `minImprovement`. Anything missing or not a
 * finite number is a rejection — a gate that cannot compare must not let the candidate through.
 */
export function decideCanary(outcome: RetrainOutcome, policy: RetrainPolicy): GateDecision {
  const metric = policy.metric;
  const candidate = finite(outcome.candidateMetrics[metric]);
  const stable = finite(outcome.stableMetrics[metric]);
  const base = {
    metric,
    candidate,
    stable,
    minImprovement: policy.minImprovement,
    canaryWeight: policy.canaryWeight,
  };
  if (candidate === null) {
    return {
      ...base,
      routed: false,
      improvement: null,
      reason: `candidate has no finite "${metric}" metric`,
    };
  }
  if (stable === null) {
    return {
      ...base,
      routed: false,
      improvement: null,
      reason: `stable has no finite "${metric}" metric on the holdout`,
    };
  }
  const improvement = policy.metricGoal === 'max' ? candidate - stable : stable - candidate;
  // Round away float noise (0.9 - 0.89 = 0.010000000000000009) before comparing with the margin.
  const rounded = Math.round(improvement * 1e9) / 1e9;
  const shown = `${metric} ${fmt(candidate)} vs stable ${fmt(stable)} (${rounded >= 0 ? '+' : ''}${fmt(rounded)}, need ${policy.metricGoal === 'max' ? '+' : '-'}${fmt(policy.minImprovement)})`;
  if (rounded < policy.minImprovement) {
    return { ...base, routed: false, improvement: rounded, reason: `rejected: ${shown}` };
  }
  if (policy.canaryWeight === 0) {
    return {
      ...base,
      routed: false,
      improvement: rounded,
      reason: `better (${shown}) but the policy's canary weight is 0`,
    };
  }
  return {
    ...base,
    routed: true,
    improvement: rounded,
    reason: `accepted: ${shown}; canary weight ${policy.canaryWeight}%`,
  };
}

function finite(v: number | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function fmt(v: number): string {
  return Number(v.toFixed(6)).toString();
}
