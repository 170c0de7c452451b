/**
 * Step 4: the edge function (functions/, bundled by wrangler) in workerd via Miniflare, its local
 * R2 bucket mirrored from the store — what `edgetune serve` runs. The mirror is synced explicitly
 * after each store change so the demo never races a timer.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { WorkerBuild } from '../../local-edge/bundle.ts';
import type { LocalEdge } from '../../local-edge/local-edge.ts';
import { startLocalEdgeLazily } from '../../local-edge/load.ts';
import type { DemoContext } from './context.ts';
import { EdgeClient } from './edge-client.ts';
import { kib } from './narrator.ts';

export interface RunningEdge {
  edge: LocalEdge;
  client: EdgeClient;
  url: string;
  bundleBytes: number;
  startSeconds: number;
  /** Models the edge lists (GET /v1/models) with their stable versions. */
  models: { name: string; versions: number; stable: string | null }[];
  /** Stops workerd and removes this run's local R2 data. */
  close(): Promise<void>;
}

const ModelsSchema = z.object({
  models: z.array(
    z.object({ name: z.string(), versions: z.array(z.string()), stable: z.string().nullable() }).loose(),
  ),
});

export async function edgeStep(ctx: DemoContext, build: WorkerBuild = 'engine'): Promise<RunningEdge> {
  // A fresh local R2 per run: the mirror copies both ways, so an R2 left over from another store
  // would otherwise leak into this one.
  const persistDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-demo-r2-'));
  const t0 = performance.now();
  let edge: LocalEdge;
  try {
    edge = await startLocalEdgeLazily(ctx.store, {
      port: 0,
      persistDir,
      adminToken: crypto.randomUUID(),
      feedbackToken: crypto.randomUUID(),
      syncIntervalMs: 0,
      build,
    });
  } catch (e) {
    fs.rmSync(persistDir, { recursive: true, force: true });
    throw e;
  }
  const startSeconds = (performance.now() - t0) / 1000;
  const client = new EdgeClient(edge.url);
  const close = async () => {
    await edge.dispose();
    fs.rmSync(persistDir, { recursive: true, force: true });
  };
  try {
    const listing = await client.get('/v1/models');
    if (listing.status !== 200)
      throw new Error(`GET /v1/models → ${listing.status}: ${listing.text.slice(0, 200)}`);
    const models = ModelsSchema.parse(JSON.parse(listing.text)).models.map((m) => ({
      name: m.name,
      versions: m.versions.length,
      stable: m.stable,
    }));
    ctx.n.say(
      `edge function in workerd at ${edge.url.href} (${edge.build} Worker build, bundle ${kib(edge.bundleBytes)}, ` +
        `started in ${startSeconds.toFixed(1)} s), local R2 mirrored from ${ctx.store.url}`,
    );
    for (const m of models) {
      ctx.n.say(`GET /v1/models: ${m.name} (${m.versions} versions, stable ${m.stable ?? 'none'})`);
    }
    return { edge, client, url: edge.url.href, bundleBytes: edge.bundleBytes, startSeconds, models, close };
  } catch (e) {
    await close();
    throw e;
  }
}
