/**
 * Admin API (Bearer ADMIN_TOKEN). Every change goes through the shared registry functions — the
 * same compare-and-swap code the CLI runs — and then drops this isolate's cached routing so the
 * change is served here at once (other isolates pick it up within ROUTING_TTL_SECONDS).
 */
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { kernelInstanceCounts } from '../../../shared/engine/spare-kernels.ts';
import { parseWindow, readModelStats } from '../../../shared/metrics/summary.ts';
import { NAME_PATTERN } from '../../../shared/names.ts';
import {
  clearShadow,
  promote,
  type RoutingUpdate,
  readRouting,
  rollback,
  rollout,
  setRouting,
  setShadow,
} from '../../../shared/routing/operations.ts';
import type { AppEnv } from '../../runtime/env.ts';
import { requireAdmin } from '../middleware/admin-auth.ts';
import { limitBody } from '../middleware/body-limit.ts';
import { getServices } from '../../runtime/services.ts';
import { parseInput, readJsonBody } from '../validate.ts';
import { explicitVersion, modelParam } from './params.ts';
import { prototypes } from './prototypes.ts';

export const admin = new Hono<AppEnv>();
admin.use('*', requireAdmin(), limitBody());
admin.route('/', prototypes);

const Version = z.string().regex(NAME_PATTERN, 'must be a version name such as v3');
const Reason = z.string().max(500).optional();
const RolloutBody = z
  .object({ version: Version, weight: z.number().min(0).max(100), reason: Reason })
  .strict();
const PromoteBody = z.object({ version: Version, reason: Reason }).strict();
const RollbackBody = z.object({ reason: Reason }).strict();
const ShadowBody = z.object({ version: Version, sample: z.number().min(0).max(1), reason: Reason }).strict();

/** Optional JSON body (rollback, clearing the shadow): empty is `{}`. */
async function optionalJson(c: Context<AppEnv>): Promise<unknown> {
  const length = c.req.header('content-length');
  if (!c.req.raw.body || length === '0') return {};
  return readJsonBody(c.req.raw);
}

function answer(c: Context<AppEnv>, name: string, update: RoutingUpdate) {
  getServices(c).cache.invalidateRouting(name);
  return c.json({ model: name, routing: update.doc, etag: update.etag, changed: update.changed });
}

const reasonOf = (r: string | undefined) => `admin api${r ? `: ${r}` : ''}`;

admin.get('/models/:name/routing', async (c) => {
  const name = modelParam(c);
  const state = await readRouting(getServices(c).store, name);
  return c.json({ model: name, routing: state?.doc ?? null, etag: state?.etag ?? null });
});

admin.put('/models/:name/routing', async (c) => {
  const name = modelParam(c);
  const body = await readJsonBody(c.req.raw);
  return answer(
    c,
    name,
    await setRouting(getServices(c).store, name, body, {
      reason: 'admin api: set',
      ifMatch: c.req.header('if-match'),
    }),
  );
});

admin.post('/models/:name/rollout', async (c) => {
  const name = modelParam(c);
  const b = parseInput(RolloutBody, await readJsonBody(c.req.raw));
  const { store } = getServices(c);
  return answer(c, name, await rollout(store, name, b.version, b.weight, { reason: reasonOf(b.reason) }));
});

admin.post('/models/:name/promote', async (c) => {
  const name = modelParam(c);
  const b = parseInput(PromoteBody, await readJsonBody(c.req.raw));
  return answer(
    c,
    name,
    await promote(getServices(c).store, name, b.version, { reason: reasonOf(b.reason) }),
  );
});

admin.post('/models/:name/rollback', async (c) => {
  const name = modelParam(c);
  const b = parseInput(RollbackBody, await optionalJson(c));
  return answer(c, name, await rollback(getServices(c).store, name, { reason: reasonOf(b.reason) }));
});

admin.post('/models/:name/shadow', async (c) => {
  const name = modelParam(c);
  const b = parseInput(ShadowBody, await readJsonBody(c.req.raw));
  const { store } = getServices(c);
  return answer(c, name, await setShadow(store, name, b.version, b.sample, { reason: reasonOf(b.reason) }));
});

admin.delete('/models/:name/shadow', async (c) => {
  const name = modelParam(c);
  return answer(
    c,
    name,
    await clearShadow(getServices(c).store, name, { reason: 'admin api: clear shadow' }),
  );
});

/** Agreement of a shadow version with the versions that answered (after writing this isolate's counts). */
admin.get('/models/:name/shadow/:version', async (c) => {
  const name = modelParam(c);
  const version = explicitVersion(c)!;
  const { shadow } = getServices(c);
  await shadow.flush();
  const stats = await shadow.read(name, version);
  return c.json({ model: name, shadow: version, stats });
});

const StatsQuery = z.object({ window: z.string().max(16).default('1h') }).loose();

/**
 * Requests, errors, latency percentiles, shadow and feedback agreement per version over a window
 * (after writing this isolate's buffered counters). With an Analytics Engine dataset bound the
 * request counters live there instead (README: querying it with the SQL API).
 */
admin.get('/models/:name/stats', async (c) => {
  const name = modelParam(c);
  const { window } = parseInput(StatsQuery, c.req.query(), 'query');
  const windowMs = parseWindow(window);
  const { store, metrics } = getServices(c);
  await metrics.flush();
  const stats = await readModelStats(store, name, { windowMs });
  return c.json({ ...stats, requestsSource: metrics.source });
});

/**
 * This isolate's model cache (sessions, estimated heap use, refused versions), and what became of
 * the engine's kernel instances: the live ones are exactly `kernels.inUse + kernels.spares`.
 */
admin.get('/cache', (c) => c.json({ ...getServices(c).cache.stats(), kernels: kernelInstanceCounts() }));
