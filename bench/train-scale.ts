/**
 * Training at scale: `edgetune train --backbone nsfwjs:MobileNetV2` on folders of 2 MP JPEGs
 * (1632×1224, made here from the shipped photos: crops, flips, brightness, so no two are the
 * same picture) at 100 and 400 images, each run in a fresh child process with an empty feature
 * cache, so every image is listed, decoded and run through the frozen prefix. Reports the
 * child's own --json throughput (list / decode / features / fit, images/s) and its peak RSS.
 * Runs inside `npm run bench`, or alone: `node --import tsx bench/train-scale.ts`.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { projectRoot } from '../local-edge/bundle.ts';
import { frozenPrefix } from '../training/features/prefix.ts';
import { createOrtNodeRunner } from '../training/inference/ort-node-runner.ts';
import { resolveBackbone } from '../training/train/backbone.ts';
import { planFreeze } from '../training/train/plan.ts';
import type { Throughput } from '../training/train/throughput.ts';
import { round } from './stats.ts';

export const TRAIN_SCALE_SIZES = [100, 400] as const;
const WIDTH = 1632;
const HEIGHT = 1224;
const CLASSES = ['chelsea', 'coffee'] as const;

export interface TrainScaleRow {
  images: number;
  dataset_mb: number;
  list_s: number;
  /** Worker time per image (read + JPEG decode with shrink-on-load + resize + tensor). */
  decode_ms_per_image: number;
  /** Images decoded per second with both worker threads (images ÷ decode time ÷ pool size). */
  decode_images_per_s: number;
  /** Wall time of the feature step: decoding overlapped with the onnxruntime runs. */
  features_s: number;
  features_images_per_s: number;
  fit_s: number;
  /** images ÷ (list + features + fit): end to end until the model is trained. */
  end_to_end_images_per_s: number;
  whole_run_s: number;
  peak_rss_mb: number;
}

/** CPU time (all threads) per image of the MobileNetV2 prefix on all cores, batches of 8. */
export interface PrefixCpu {
  threads: number;
  /** onnxruntime's default: idle intra-op threads spin-wait for the next operator. */
  spinning_cpu_ms_per_image: number;
  /** As the streamed trainer runs it, beside the decode workers. */
  not_spinning_cpu_ms_per_image: number;
}

export interface TrainScaleResult {
  backbone: string;
  image: string;
  decode_workers: number;
  prefix_cpu?: PrefixCpu;
  rows: TrainScaleRow[];
  train_images_per_s_2mp: number;
  train_peak_rss_mb_400: number;
  goals: { train_images_per_s_2mp: number; train_peak_rss_mb: number };
}

/** 2 MP JPEGs, `perClass` per class, from the shipped photos; distinct pictures. */
async function makeDataset(dir: string, perClass: number): Promise<number> {
  let bytes = 0;
  for (const cls of CLASSES) {
    fs.mkdirSync(path.join(dir, cls), { recursive: true });
    const src = sharp(path.join(projectRoot, 'data', 'photos', `${cls}.png`));
    const meta = await src.metadata();
    const w = meta.width!;
    const h = meta.height!;
    for (let i = 0; i < perClass; i++) {
      const cw = Math.floor(w * (0.6 + 0.004 * (i % 100)));
      const ch = Math.floor(h * (0.6 + 0.0035 * ((i * 7) % 100)));
      const left = Math.floor(((w - cw) * ((i * 13) % 50)) / 49);
      const top = Math.floor(((h - ch) * ((i * 29) % 50)) / 49);
      let img = sharp(path.join(projectRoot, 'data', 'photos', `${cls}.png`))
        .extract({ left, top, width: cw, height: ch })
        .resize(WIDTH, HEIGHT, { fit: 'fill' })
        .modulate({ brightness: 0.8 + 0.4 * ((i % 37) / 36) });
      if (i % 2 === 1) img = img.flop();
      const jpeg = await img.jpeg({ quality: 90 }).toBuffer();
      bytes += jpeg.length;
      fs.writeFileSync(path.join(dir, cls, `${cls}-${String(i).padStart(4, '0')}.jpg`), jpeg);
    }
  }
  return bytes;
}

interface TrainJson {
  timings: Record<string, number>;
  throughput: Throughput;
  features: { computed: number };
}

function trainChild(data: string, cacheDir: string, out: string): Promise<TrainJson> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        path.join(projectRoot, 'bin', 'edgetune.mjs'),
        'train',
        '--backbone',
        'nsfwjs:MobileNetV2',
        '--data',
        `folder:${data}`,
        '--name',
        'bench-scale',
        '--epochs',
        '20',
        // Throughput of the plain transfer run: pinned, so no class size ever makes it a search.
        '--select',
        'transfer',
        '--out',
        out,
        '--json',
      ],
      {
        cwd: projectRoot,
        encoding: 'utf8',
        env: { ...process.env, EDGETUNE_STORE: '', EDGETUNE_CACHE_DIR: cacheDir },
        maxBuffer: 1 << 26,
      },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`train failed: ${stderr.slice(-3000)}`));
        else resolve(JSON.parse(stdout) as TrainJson);
      },
    );
  });
}

/**
 * What spin-waiting costs: the prefix alone, 96 random images in batches of 8, CPU time of the
 * whole process (every onnxruntime thread) per image, spinning and not, alternated twice.
 */
export async function prefixCpu(): Promise<PrefixCpu> {
  const backbone = await resolveBackbone('nsfwjs:MobileNetV2');
  const plan = await planFreeze(backbone, undefined, 0);
  const prefix = frozenPrefix(backbone, plan);
  const bytes = prefix.bytes();
  const { channels, height, width } = prefix.preprocess;
  const batch = 8;
  const data = new Float32Array(batch * channels * height * width).map((_, i) => ((i * 7919) % 256) / 255);
  const dims = [batch, channels, height, width];
  const measure = async (spinning: boolean): Promise<number> => {
    const runner = await createOrtNodeRunner(bytes, { device: 'cpu', spinning });
    try {
      const input = runner.inputNames[0]!;
      await runner.run(input, data, dims);
      const before = process.cpuUsage();
      for (let i = 0; i < 12; i++) await runner.run(input, data, dims);
      const used = process.cpuUsage(before);
      return (used.user + used.system) / 1000 / (12 * batch);
    } finally {
      await runner.release();
    }
  };
  const spin: number[] = [];
  const still: number[] = [];
  for (let k = 0; k < 2; k++) {
    spin.push(await measure(true));
    still.push(await measure(false));
  }
  const mean = (xs: number[]) => round(xs.reduce((a, b) => a + b, 0) / xs.length, 1);
  return {
    threads: Math.max(1, os.availableParallelism()),
    spinning_cpu_ms_per_image: mean(spin),
    not_spinning_cpu_ms_per_image: mean(still),
  };
}

export async function trainAtScale(log: (m: string) => void): Promise<TrainScaleResult> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-bench-scale-'));
  // Converted backbones come from the usual cache (built once); features start empty every run.
  const backbones = path.join(
    path.resolve(projectRoot, process.env.EDGETUNE_CACHE_DIR ?? path.join('.edgetune', 'cache')),
    'backbones',
  );
  fs.mkdirSync(backbones, { recursive: true });
  const workers = Math.max(1, os.availableParallelism());
  log('training at scale: prefix CPU per image, spinning and not');
  const cpu = await prefixCpu();
  const rows: TrainScaleRow[] = [];
  try {
    for (const n of TRAIN_SCALE_SIZES) {
      const dir = path.join(tmp, `data-${n}`);
      log(`training at scale: making ${n} 2 MP JPEGs`);
      const bytes = await makeDataset(dir, n / CLASSES.length);
      const cache = path.join(tmp, `cache-${n}`);
      fs.mkdirSync(cache);
      fs.symlinkSync(backbones, path.join(cache, 'backbones'));
      log(`training at scale: edgetune train on ${n} images (MobileNetV2, empty feature cache)`);
      const t0 = performance.now();
      const r = await trainChild(dir, cache, path.join(tmp, `out-${n}`));
      const whole = (performance.now() - t0) / 1000;
      const t = r.throughput;
      if (r.features.computed !== n)
        throw new Error(`expected ${n} computed features, got ${r.features.computed}`);
      rows.push({
        images: n,
        dataset_mb: round(bytes / 1e6, 1),
        list_s: round(t.listSeconds, 2),
        decode_ms_per_image: round((t.decodeSeconds * 1000) / n, 1),
        decode_images_per_s: round((n * workers) / Math.max(t.decodeSeconds, 1e-3), 1),
        features_s: round(t.featureSeconds, 2),
        features_images_per_s: round(n / Math.max(t.featureSeconds, 1e-3), 1),
        fit_s: round(t.fitSeconds, 2),
        end_to_end_images_per_s: round(
          n / Math.max(t.listSeconds + t.featureSeconds + t.fitSeconds, 1e-3),
          1,
        ),
        whole_run_s: round(whole, 1),
        peak_rss_mb: t.peakRssMb,
      });
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const largest = rows.at(-1)!;
  return {
    backbone: 'nsfwjs:MobileNetV2 (224×224, frozen, 1280-d)',
    image: `${WIDTH}×${HEIGHT} JPEG q90`,
    decode_workers: workers,
    prefix_cpu: cpu,
    rows,
    train_images_per_s_2mp: largest.end_to_end_images_per_s,
    train_peak_rss_mb_400: largest.peak_rss_mb,
    goals: { train_images_per_s_2mp: 50, train_peak_rss_mb: 1536 },
  };
}

/** The markdown table of one run. */
export function trainScaleMarkdown(r: TrainScaleResult): string {
  const lines = [
    `Training at scale (${r.backbone}, ${r.image}, ${r.decode_workers} decode workers, empty feature cache):`,
    '',
    '| images | MB | list s | decode ms/img (worker) | decode img/s | features s | features img/s | fit s | end-to-end img/s | whole run s | peak RSS MB |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...r.rows.map(
      (x) =>
        `| ${x.images} | ${x.dataset_mb} | ${x.list_s} | ${x.decode_ms_per_image} | ${x.decode_images_per_s} | ${x.features_s} | ${x.features_images_per_s} | ${x.fit_s} | ${x.end_to_end_images_per_s} | ${x.whole_run_s} | ${x.peak_rss_mb} |`,
    ),
    '',
    ...(r.prefix_cpu
      ? [
          `Prefix alone (${r.prefix_cpu.threads} onnxruntime threads, batches of 8): ` +
            `${r.prefix_cpu.spinning_cpu_ms_per_image} CPU-ms per image with spin-waiting threads, ` +
            `${r.prefix_cpu.not_spinning_cpu_ms_per_image} without (the trainer's setting beside the decoders)`,
          '',
        ]
      : []),
    `train_images_per_s_2mp ${r.train_images_per_s_2mp} (goal ≥ ${r.goals.train_images_per_s_2mp}), ` +
      `train_peak_rss_mb_400 ${r.train_peak_rss_mb_400} (goal ≤ ${r.goals.train_peak_rss_mb})`,
  ];
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}` && process.argv[2] === '--prefix-cpu') {
  console.log(`CPU: ${os.cpus()[0]?.model.trim() ?? 'unknown'}, ${os.cpus().length} cores`);
  console.log(JSON.stringify(await prefixCpu()));
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const started = performance.now();
  const result = await trainAtScale((m) =>
    console.error(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}`),
  );
  console.log(`CPU: ${os.cpus()[0]?.model.trim() ?? 'unknown'}, ${os.cpus().length} cores`);
  console.log(trainScaleMarkdown(result));
}
