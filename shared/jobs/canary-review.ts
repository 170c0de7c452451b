/**
 * Auto-promotion (the policy's `autoPromote`): the edge records, with each labelled feedback
 * sample, the version that served it and what it predicted. That is a live accuracy per version.
 * Once a canary has `afterObservations` such samples — and the stable has as many over the same
 * period (since the canary was published), so both numbers carry the same weight — the canary is
 * promoted when its accuracy is at least the stable's minus `tolerance`, else it is taken out of
 * routing (rolled back). Runs in Node (the worker) and in workerd (no node: imports).
 */
import { errorMessage } from '../errors.ts';
import { listFeedback } from '../feedback/store.ts';
import type { FeedbackRecord } from '../feedback/schema.ts';
import type { RoutingDoc } from '../routing/schema.ts';
import { readRouting, updateRouting } from '../routing/operations.ts';
import { getManifest } from '../registry/versions.ts';
import type { ObjectStore } from '../store/types.ts';
import { listPolicies } from './policy.ts';
import type { RetrainPolicy } from './schema.ts';

export interface Observed {
  version: string;
  observations: number;
  /** Share of observations whose prediction equals the true label; null without observations. */
  accuracy: number | null;
}

export interface CanaryReview {
  model: string;
  canary: Observed;
  stable: Observed;
  action: 'promoted' | 'rolled-back' | 'waiting' | 'skipped';
  reason: string;
}

/** Live accuracy of `version` from feedback records (only those that say what was served). */
export function observe(records: readonly FeedbackRecord[], version: string): Observed {
  let n = 0;
  let hits = 0;
  for (const r of records) {
    if (r.version !== version || r.prediction === null) continue;
    n++;
    if (r.prediction === r.label) hits++;
  }
  return { version, observations: n, accuracy: n > 0 ? hits / n : null };
}

/** The decision for one canary, from its and the stable's observations (pure). */
export function decideCanaryReview(
  canary: Observed,
  stable: Observed,
  rule: NonNullable<RetrainPolicy['autoPromote']>,
): { action: CanaryReview['action']; reason: string } {
  const need = rule.afterObservations;
  if (canary.observations < need || stable.observations < need) {
    return {
      action: 'waiting',
      reason: `waiting for observations: ${canary.version} ${canary.observations}/${need}, ${stable.version} ${stable.observations}/${need}`,
    };
  }
  const c = canary.accuracy!;
  const s = stable.accuracy!;
  const shown =
    `live accuracy ${canary.version} ${fmt(c)} (${canary.observations} samples) vs ${stable.version} ` +
    `${fmt(s)} (${stable.observations}), tolerance ${fmt(rule.tolerance)}`;
  // Round away float noise before comparing, as the retrain gate does.
  if (Math.round((c - s + rule.tolerance) * 1e9) >= 0)
    return { action: 'promoted', reason: `auto-promote: ${shown}` };
  return { action: 'rolled-back', reason: `auto-rollback: ${shown}` };
}

export interface ReviewOptions {
  /** Only this model (default: every model whose policy has autoPromote). */
  model?: string;
  log?: (message: string) => void;
}

/**
 * One review pass over the models whose policy enables auto-promotion. Routing changes go through
 * updateRouting (compare-and-swap + history) and re-check, inside the swap, that the document is
 * still the one the decision was made on; otherwise nothing is written.
 */
export async function reviewCanaries(
  store: ObjectStore,
  options: ReviewOptions = {},
): Promise<CanaryReview[]> {
  const log = options.log ?? (() => {});
  const out: CanaryReview[] = [];
  for (const { name, policy } of await listPolicies(store)) {
    if (options.model && name !== options.model) continue;
    const rule = policy?.autoPromote;
    if (!rule) continue;
    try {
      out.push(...(await reviewModel(store, name, rule, log)));
    } catch (e) {
      log(`canary review of ${name} failed: ${errorMessage(e)}`);
    }
  }
  return out;
}

async function reviewModel(
  store: ObjectStore,
  model: string,
  rule: NonNullable<RetrainPolicy['autoPromote']>,
  log: (m: string) => void,
): Promise<CanaryReview[]> {
  const routing = await readRouting(store, model);
  const doc = routing?.doc;
  if (!doc?.stable || doc.candidates.length === 0) return [];
  const stable = doc.stable;
  const reviews: CanaryReview[] = [];
  for (const { version } of doc.candidates) {
    const manifest = await getManifest(store, model, version);
    // Count the stable over the canary's lifetime only: the same period, the same traffic mix.
    const since = manifest ? new Date(manifest.createdAt) : null;
    const records = await listFeedback(store, model, { since });
    const canary = observe(records, version);
    const base = observe(records, stable);
    const decision = decideCanaryReview(canary, base, rule);
    let { action, reason } = decision;
    if (action === 'promoted' || action === 'rolled-back') {
      const update = await updateRouting(
        store,
        model,
        action === 'promoted' ? 'promote' : 'rollout',
        (cur) => applyReview(cur, stable, version, action === 'promoted'),
        { reason },
      );
      if (!update.changed) {
        action = 'skipped';
        reason = `routing of ${model} changed meanwhile; ${version} left as it is`;
      }
    }
    log(`${model} ${version}: ${action}: ${reason}`);
    reviews.push({ model, canary, stable: base, action, reason });
    if (action === 'promoted') break; // the stable changed: other canaries are judged next pass
  }
  return reviews;
}

/** The routing change for a decided review, or null when the document moved on. */
function applyReview(
  cur: RoutingDoc | null,
  stable: string,
  version: string,
  promote: boolean,
): RoutingDoc | null {
  if (!cur || cur.stable !== stable || !cur.candidates.some((c) => c.version === version)) return null;
  const candidates = cur.candidates.filter((c) => c.version !== version);
  return promote ? { ...cur, stable: version, candidates } : { ...cur, candidates };
}

function fmt(v: number): string {
  return Number(v.toFixed(4)).toString();
}
