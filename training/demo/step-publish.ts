/**
 * Step 3: the exports (one ONNX each: probabilities + embedding, with manifest.json) become
 * immutable versions in the store, and each takes all of its model's traffic.
 */
import { setRouting } from '../../shared/routing/operations.ts';
import { publishExportDir } from '../registry/publish-dir.ts';
import type { DemoContext } from './context.ts';
import { kib } from './narrator.ts';

export interface Published {
  name: string;
  version: string;
  sha256: string;
  size: number;
}

/** Publishes an export directory; `stable` also routes all traffic to it (clearing old canaries). */
export async function publish(
  ctx: DemoContext,
  name: string,
  dir: string,
  options: { stable: boolean },
): Promise<Published> {
  const r = await publishExportDir(ctx.store, name, dir);
  if (options.stable) {
    await setRouting(
      ctx.store,
      name,
      { stable: r.version, candidates: [], shadow: null },
      { reason: `demo: ${r.version} takes all traffic` },
    );
  }
  const p = { name, version: r.version, sha256: r.manifest.model.sha256, size: r.manifest.model.size };
  ctx.n.say(
    `published ${name} ${p.version}: model.onnx ${kib(p.size)}, sha256 ${p.sha256.slice(0, 12)}…` +
      `${options.stable ? ' → stable' : ''}`,
  );
  return p;
}
