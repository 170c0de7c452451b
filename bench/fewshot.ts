/**
 * Few-shot prototype heads (`npm run bench:fewshot`; `npm run bench` takes the latency from here):
 * 1. latency of creating a version at the edge from 15 examples (3 classes × 5 photo crops,
 *    nsfwjs MobileNetV2-224, the engine in workerd), measured at the client: one on a freshly
 *    started edge (parent session not loaded yet), then warm ones (`prototype_version_create_ms`);
 * 2. held-out accuracy at 5 and 10 examples per class, prototype head vs the trained linear head
 *    of `edgetune train` on the same examples: photo crops with MobileNetV2, the OpenCV digits
 *    sheet with the mnist-pretrained small CNN (the quick demo's). Written to bench/fewshot-results.json.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { publishVersion } from '../shared/registry/publish.ts';
import { startLocalEdge } from '../local-edge/local-edge.ts';
import { projectRoot } from '../local-edge/bundle.ts';
import { openStore } from '../shared/store/node/open.ts';
import { runPrototypeTraining } from '../training/prototype/run.ts';
import { cachedPretrainedBackbone } from '../training/train/cached-backbone.ts';
import { QUICK } from '../training/demo/profile.ts';
import { type PhotoClass, nsfwjsPhotoExport, photoExamples } from './prototype-fixtures.ts';
import { median, round } from './stats.ts';

const WARM_SAMPLES = 5;
const CLASSES: PhotoClass[] = ['cat', 'coffee', 'galaxies'];
const started = performance.now();
const log = (m: string) =>
  console.error(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}`);

function tmp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `edgetune-fewshot-${prefix}-`));
}

export interface CreateLatency {
  cold_ms: number;
  warm_ms: number[];
  median_ms: number;
  examples: number;
}

/** Client-side time of `POST /admin/models/{name}/prototypes` with 15 examples. */
export async function prototypeCreateLatency(
  logLine: (m: string) => void = log,
  vars: Record<string, string> = {},
): Promise<CreateLatency> {
  const dir = tmp('latency');
  const store = openStore(`file://${path.join(dir, 'store')}`);
  await publishVersion(store, 'photos', await nsfwjsPhotoExport('photos'));
  const edge = await startLocalEdge(store, {
    port: 0,
    adminToken: 'bench',
    syncIntervalMs: 0,
    persistDir: path.join(dir, 'r2'),
    vars: { REQUEST_LOG: 'off', ...vars },
  });
  try {
    const examples = photoExamples(CLASSES, 5);
    // One connection per request (agent: false): the timing then includes no reuse of an idle
    // keep-alive socket that the server may be closing.
    const once = async (k: number) => {
      const form = new FormData();
      form.append('from', 'photos@v1');
      for (const e of examples)
        form.append(e.label, new Blob([e.png as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
      const encoded = new Response(form);
      const body = Buffer.from(await encoded.arrayBuffer());
      const url = new URL(`/admin/models/fewshot-${k}/prototypes`, edge.url);
      const t0 = performance.now();
      const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request(
          url,
          {
            method: 'POST',
            agent: false,
            headers: {
              authorization: 'Bearer bench',
              'content-type': encoded.headers.get('content-type') ?? '',
              'content-length': body.byteLength,
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
            );
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      const ms = performance.now() - t0;
      if (status !== 201) throw new Error(`prototype create answered ${status}: ${text}`);
      return ms;
    };
    const cold = await once(0);
    logLine(`prototype version from 15 examples, first on a fresh edge: ${cold.toFixed(0)} ms`);
    const warm: number[] = [];
    for (let k = 1; k <= WARM_SAMPLES; k++) warm.push(await once(k));
    logLine(`warm: ${warm.map((w) => w.toFixed(0)).join(', ')} ms`);
    return {
      cold_ms: round(cold),
      warm_ms: warm.map((w) => round(w)),
      median_ms: round(median(warm)),
      examples: 15,
    };
  } finally {
    await edge.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface AccuracyRow {
  data: string;
  backbone: string;
  shots: number;
  prototype: number;
  linear: number;
  leave_one_out: number;
  held_out_images: number;
}

function photoFolder(dir: string, first: number, count: number): string {
  for (const e of photoExamples(CLASSES, count, first)) {
    fs.mkdirSync(path.join(dir, e.label), { recursive: true });
    fs.writeFileSync(
      path.join(dir, e.label, `${first}-${fs.readdirSync(path.join(dir, e.label)).length}.png`),
      e.png,
    );
  }
  return dir;
}

async function accuracies(): Promise<AccuracyRow[]> {
  const rows: AccuracyRow[] = [];
  const digitsBackbone =
    // The quick demo's backbone (cached by `npm run demo -- --quick`, else pretrained here once).
    (await cachedPretrainedBackbone({ ...QUICK.pretrain, backend: 'wasm' })).path;
  for (const shots of [5, 10]) {
    const photos = tmp(`photos-${shots}`);
    const cases = [
      {
        data: `folder:${photoFolder(path.join(photos, 'train'), 0, shots)}`,
        testData: `folder:${photoFolder(path.join(photos, 'test'), 40, 20)}`,
        backbone: 'nsfwjs:MobileNetV2',
        label: 'photo crops (cat, coffee, galaxies)',
      },
      {
        data: `opencv-digits:per-class=${shots}`,
        testData: 'opencv-digits:skip-per-class=10:per-class=100',
        backbone: digitsBackbone,
        label: 'OpenCV digits sheet',
      },
    ];
    for (const c of cases) {
      const r = await runPrototypeTraining({
        backbone: c.backbone,
        data: c.data,
        testData: c.testData,
        name: 'fewshot',
        baseline: 'linear',
        seed: 1,
        out: path.join(photos, 'runs', String(rows.length)),
        cacheDir: path.join(photos, 'features'),
      });
      const row: AccuracyRow = {
        data: c.label,
        backbone: c.backbone.startsWith('nsfwjs:')
          ? 'nsfwjs MobileNetV2'
          : 'small CNN pretrained on 2,000 mnist digits',
        shots,
        prototype: round(r.heldOut.accuracy * 100, 1),
        linear: round(r.baseline!.accuracy * 100, 1),
        leave_one_out: round(r.head.leaveOneOutAccuracy * 100, 1),
        held_out_images: r.counts.heldOut,
      };
      log(`${row.data}, ${shots} shots: prototype ${row.prototype} % vs linear ${row.linear} %`);
      rows.push(row);
    }
    fs.rmSync(photos, { recursive: true, force: true });
  }
  return rows;
}

async function main(): Promise<void> {
  // FEWSHOT_MODEL_CACHE_MB: the Worker's MODEL_CACHE_MB for this run (default: wrangler.toml's).
  const cacheMb = process.env.FEWSHOT_MODEL_CACHE_MB;
  const latency = await prototypeCreateLatency(log, cacheMb ? { MODEL_CACHE_MB: cacheMb } : {});
  if (process.env.FEWSHOT_LATENCY_ONLY === '1') {
    console.log(JSON.stringify({ model_cache_mb: cacheMb ?? 'default', ...latency }));
    return;
  }
  const rows = await accuracies();
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown';
  const results = {
    cpu,
    cores: os.cpus().length,
    date: new Date().toISOString(),
    prototype_version_create_ms: latency.median_ms,
    latency,
    accuracy: rows,
  };
  fs.writeFileSync(
    path.join(projectRoot, 'bench', 'fewshot-results.json'),
    `${JSON.stringify(results, null, 2)}\n`,
  );
  console.log(`CPU: ${cpu}\n`);
  console.log(
    `prototype_version_create_ms (15 examples, MobileNetV2-224, workerd, median of ${WARM_SAMPLES} warm): ${latency.median_ms} ms; first on a fresh edge ${latency.cold_ms} ms\n`,
  );
  console.log(
    '| data | backbone | examples per class | prototype head | trained linear head | leave-one-out (prototype) | held-out images |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.data} | ${r.backbone} | ${r.shots} | ${r.prototype} % | ${r.linear} % | ${r.leave_one_out} % | ${r.held_out_images} |`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
