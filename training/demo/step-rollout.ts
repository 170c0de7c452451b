/**
 * Step 6: a second version, a 20% canary with sticky assignment by `x-user-key`, promote, roll
 * back — each routing change written to the store with compare-and-swap, mirrored to the edge's
 * R2, and checked by asking the edge until it answers with the expected version.
 */
import { promote, readRouting, rollback, rollout } from '../../shared/routing/operations.ts';
import { chooseVersion } from '../../shared/routing/choose.ts';
import type { DemoContext } from './context.ts';
import { type EdgeClient, type ImageFile, mapLimit, waitFor } from './edge-client.ts';
import { pct } from './narrator.ts';
import { MODEL_NAMES } from './profile.ts';
import { type Published, publish } from './step-publish.ts';
import { trainDigits } from './step-train.ts';
import type { RunningEdge } from './step-edge.ts';

export interface RolloutOutcome {
  /** The stable version before the canary (v1 on a fresh store). */
  current: Published & { accuracy: number };
  /** The new version (v2 on a fresh store). */
  candidate: Published & { accuracy: number; trainCount: number; trainableConvs: number };
  weight: number;
  keys: number;
  /** Requests per version for the distinct keys (first pass). */
  shares: Record<string, number>;
  /** The candidate's share of the key space under the same hash, over 10,000 keys. */
  keySpaceShare: number;
  /** Keys whose edge answer matched shared/routing/choose.ts computed locally. */
  matchesLocalChoice: number;
  /** Keys that got the same version on a second pass. */
  sticky: number;
  /** A key assigned to v2 asking for v1 with x-model-version. */
  pinned: { asked: string; servedBy: string };
  promoted: { stable: string; servedBy: string; seenAfterMs: number };
  rolledBack: { stable: string; servedBy: string; seenAfterMs: number };
  rolloutSeenAfterMs: number;
}

const CONCURRENCY = 4;

export async function rolloutStep(
  ctx: DemoContext,
  running: RunningEdge,
  backbone: string,
  v1: Published,
  v1Accuracy: number,
  image: ImageFile,
): Promise<RolloutOutcome> {
  const { n, profile, store } = ctx;
  const name = MODEL_NAMES.digits;
  const client: EdgeClient = running.client;
  const served = async (options: { userKey?: string; version?: string } = {}) =>
    (await client.classify(name, image, options)).servedBy;

  // v2 also shows approach 2: the backbone's last conv layer is re-trained with the new head.
  const t = await trainDigits(ctx, backbone, {
    data: profile.digits.trainV2,
    seed: 2,
    baseline: false,
    out: 'digits-retrained',
    trainable: 1,
  });
  n.say(
    `retrained: ${t.counts.train} labelled images ("${profile.digits.trainV2}"), the backbone's ` +
      `${t.plan.trainableConvs === 1 ? 'last conv layer' : `last ${t.plan.trainableConvs} conv layers`} ` +
      `re-trained with the head (approach 2), in ${t.transfer.seconds.toFixed(1)} s`,
  );
  n.say(
    `  held-out ${pct(t.accuracy)} on the same ${t.counts.test} digits (${v1.version}: ${pct(v1Accuracy)})`,
  );
  const v2 = await publish(ctx, name, t.outDir, { stable: false });

  const weight = profile.canaryWeight;
  await rollout(store, name, v2.version, weight, { reason: 'demo: canary' });
  const doc = (await readRouting(store, name))!.doc;
  const keys = Array.from({ length: profile.userKeys }, (_, i) => `user-${i}`);
  const expected = new Map(keys.map((k) => [k, chooseVersion(doc, { userKey: k, salt: name })!.version]));
  const probe = keys.find((k) => expected.get(k) === v2.version);
  if (!probe) throw new Error(`none of ${keys.length} keys hashes to the ${weight}% canary`);
  await running.edge.sync();
  const rolloutSeenAfterMs = await waitFor(`the edge to route ${probe} to ${v2.version}`, async () => {
    return (await served({ userKey: probe })) === v2.version;
  });
  n.say(
    `rollout ${v2.version} to ${weight}% (stable ${v1.version}): store → R2 mirror → edge picked it up in ` +
      `${(rolloutSeenAfterMs / 1000).toFixed(1)} s`,
  );

  const first = await mapLimit(keys, CONCURRENCY, (k) => served({ userKey: k }));
  const shares: Record<string, number> = {};
  for (const v of first) shares[v] = (shares[v] ?? 0) + 1;
  const matchesLocalChoice = keys.filter((k, i) => first[i] === expected.get(k)).length;
  const second = await mapLimit(keys, CONCURRENCY, (k) => served({ userKey: k }));
  const sticky = second.filter((v, i) => v === first[i]).length;
  const shareText = Object.entries(shares)
    .sort()
    .map(([v, c]) => `${v} ${c} (${pct(c / keys.length)})`)
    .join(', ');
  // The weight is a share of the hash space; a few hundred keys land a few points around it.
  const KEY_SPACE = 10_000;
  let inCanary = 0;
  for (let i = 0; i < KEY_SPACE; i++) {
    if (chooseVersion(doc, { userKey: `user-${i}`, salt: name })!.version === v2.version) inCanary++;
  }
  const keySpaceShare = inCanary / KEY_SPACE;
  n.say(`${keys.length} distinct x-user-key values: ${shareText}`);
  n.say(
    `  (the same hash over ${KEY_SPACE.toLocaleString('en-US')} keys puts ${pct(keySpaceShare)} on ${v2.version}; ` +
      `${keys.length} keys scatter around that)`,
  );
  n.say(
    `  ${matchesLocalChoice}/${keys.length} match the shared sticky hash computed locally; ` +
      `${sticky}/${keys.length} got the same version again on a second pass`,
  );
  const pinnedVersion = await served({ userKey: probe, version: v1.version });
  n.say(
    `  ${probe} (assigned ${v2.version}) with x-model-version: ${v1.version} → served by ${pinnedVersion}`,
  );

  // Checked with a key the canary kept on v1: unkeyed requests could land on v2 by weight alone.
  const v1Key = keys.find((k) => expected.get(k) === v1.version)!;
  const promotedDoc = (await promote(store, name, v2.version, { reason: 'demo: canary looks good' })).doc;
  await running.edge.sync();
  const promotedAfter = await waitFor(`the edge to serve ${v2.version} as stable`, async () => {
    return (await served({ userKey: v1Key })) === v2.version;
  });
  const promotedBy = await served();
  n.say(
    `promote ${v2.version}: stable ${promotedDoc.stable}; ${v1Key} (had ${v1.version}) and requests without a key ` +
      `now get ${promotedBy} (edge caught up in ${(promotedAfter / 1000).toFixed(1)} s)`,
  );

  const back = await rollback(store, name, { reason: 'demo: roll back' });
  await running.edge.sync();
  const rolledAfter = await waitFor(`the edge to serve ${back.doc.stable} again`, async () => {
    return (await served()) === back.doc.stable;
  });
  const rolledBy = await served({ userKey: probe });
  n.say(
    `rollback: stable ${back.doc.stable} again; ${probe} (had ${v2.version}) now gets ${rolledBy} ` +
      `(edge caught up in ${(rolledAfter / 1000).toFixed(1)} s)`,
  );
  return {
    current: { ...v1, accuracy: v1Accuracy },
    candidate: {
      ...v2,
      accuracy: t.accuracy,
      trainCount: t.counts.train,
      trainableConvs: t.plan.trainableConvs,
    },
    weight,
    keys: keys.length,
    shares,
    keySpaceShare,
    matchesLocalChoice,
    sticky,
    pinned: { asked: v1.version, servedBy: pinnedVersion },
    promoted: {
      stable: promotedDoc.stable ?? '',
      servedBy: promotedBy,
      seenAfterMs: Math.round(promotedAfter),
    },
    rolledBack: { stable: back.doc.stable ?? '', servedBy: rolledBy, seenAfterMs: Math.round(rolledAfter) },
    rolloutSeenAfterMs: Math.round(rolloutSeenAfterMs),
  };
}
