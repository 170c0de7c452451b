/**
 * Whether a training run searches (`--select auto`, or the default below ~50 labels per class),
 * reuses a search's earlier choice (a retraining job following its recipe), or does neither; and
 * what the chosen configuration means for the run: feature layer, fine-tuning depth, head, or the
 * scratch CNN.
 */
import { z } from 'zod';
import type { Dataset, Sample } from '../datasets/types.ts';
import type { HeadSpec } from '../fit/head.ts';
import type { TrainBackbone } from '../train/backbone.ts';
import type { HyperOptions } from '../train/hyper.ts';
import type { Progress } from '../train/progress.ts';
import type { Device } from '../features/session.ts';
import { classCounts } from '../datasets/split.ts';
import { DEFAULT_SEARCH_BUDGET_SECONDS, searchConfigurations, type Selection } from './search.ts';
import { type Configuration, computedHead, HEAD_KINDS, headSpecOf } from './space.ts';
import { scratchSide } from '../fit/baseline.ts';

/**
 * `edgetune train` searches by default when the smallest class has fewer labelled images than
 * this and no flag pins the configuration: on the recorded searches (bench/select) the pick beat
 * the plain transfer model's test accuracy on average on every task, by 1.1–11.9 points
 * (12 runs a task, results-refit-1-12.json.gz).
 */
export const AUTO_SELECT_BELOW = 50;

/** A search's winner as recorded in a recipe (training.json), so retraining can reuse it. */
export const ChosenConfigurationSchema = z.object({
  id: z.string(),
  kind: z.enum(['transfer', 'scratch']),
  featureLayer: z.string().optional(),
  trainable: z.number().int().nonnegative(),
  head: z.enum(HEAD_KINDS as [string, ...string[]]).transform((h) => h as Configuration['head']),
  complexity: z.number(),
});
export type ChosenConfiguration = z.infer<typeof ChosenConfigurationSchema>;

export interface AutoOptions {
  select?: 'transfer' | 'best' | 'auto';
  /** When `select` is not given: search if the smallest class has fewer labelled images. */
  autoSelectBelow?: number;
  /** Seconds the search may take. */
  searchBudget?: number;
  /** An earlier search's winner (from the recipe): used as is unless `searchAgain`. */
  chosen?: ChosenConfiguration;
  searchAgain?: boolean;
}

export interface AutoPlan {
  winner: Configuration;
  /** Absent when an earlier choice was reused. */
  selection?: Selection;
  featureLayer: string | undefined;
  trainable: number;
  head: HeadSpec;
  /** The head is computed from the training features (class means or the logistic fit), not trained. */
  computedHead?: 'prototype' | 'logistic';
  scratch: boolean;
  /** The seed the winner's export fit uses when the export check refitted it (export-check.ts). */
  fitSeed?: number;
}

export function wantsSearch(o: AutoOptions, data: Dataset): boolean {
  if (o.select !== undefined) return o.select === 'auto';
  if (o.autoSelectBelow === undefined) return false;
  return Math.min(...classCounts(data)) < o.autoSelectBelow;
}

export interface AutoContext {
  backbone: TrainBackbone;
  train: Sample[];
  val: Sample[];
  test?: { samples: Sample[]; y: Int32Array };
  classes: number;
  featureLayer?: string;
  seed: number;
  valFraction: number;
  hyper: HyperOptions;
  cacheDir: string;
  device?: Device;
  progress: Progress;
}

export async function planAuto(o: AutoOptions, ctx: AutoContext): Promise<AutoPlan> {
  let winner: Configuration;
  let selection: Selection | undefined;
  if (o.chosen && !o.searchAgain) {
    winner = o.chosen;
    ctx.progress.log(`--select auto: reusing the earlier search's choice: ${winner.id}`);
  } else {
    selection = await searchConfigurations({
      backbone: ctx.backbone,
      train: ctx.train,
      val: ctx.val,
      classes: ctx.classes,
      test: ctx.test,
      featureLayer: ctx.featureLayer,
      seed: ctx.seed,
      valFraction: ctx.valFraction,
      hyper: ctx.hyper,
      budgetSeconds: o.searchBudget ?? DEFAULT_SEARCH_BUDGET_SECONDS,
      scratch: true,
      scratchShape: {
        side: scratchSide(
          Math.max(ctx.backbone.preprocess.width, ctx.backbone.preprocess.height),
          [...ctx.train, ...ctx.val].map((s) => s.image),
        ),
        channels: ctx.backbone.preprocess.channels,
      },
      cacheDir: ctx.cacheDir,
      device: ctx.device,
      progress: ctx.progress,
    });
    winner = selection.winner;
    ctx.progress.log(
      `--select auto picked ${winner.id} (most probably best by ${selection.scaledLoss ? 'temperature-scaled ' : ''}held-out cross-entropy in CV); search ${selection.seconds.toFixed(1)}s`,
    );
    for (const s of selection.skipped) ctx.progress.log(`  skipped ${s}`);
  }
  return {
    winner,
    selection,
    featureLayer: winner.featureLayer ?? ctx.featureLayer,
    trainable: winner.trainable,
    head: headSpecOf(winner.head),
    computedHead: winner.kind === 'transfer' && computedHead(winner.head) ? winner.head : undefined,
    scratch: winner.kind === 'scratch',
    fitSeed: selection?.exportCheck?.fitSeed,
  };
}
