/**
 * The photo table of `npm run bench`: for the four reference uploads (photo-files.ts), what the
 * production Worker spends on them in workerd — its own `server-timing` (preprocess = decode +
 * EXIF orientation + resize + tensor; total = the whole request inside the Worker) — next to the
 * native pipeline in the same process and loop: sharp's decode + `.rotate()` + resize, and sharp +
 * normalisation + onnxruntime-node (1 intra-op thread) for the whole request. Edge and native
 * samples alternate, so both see the same machine load. Medians; the ratios are edge ÷ native.
 */
import * as ortNode from '../training/inference/ort-node.ts';
import { imageToTensor } from '../shared/preprocess/tensor.ts';
import { classify, type EdgeSetup } from './edge.ts';
import { servingRow } from './cpu.ts';
import type { BenchModel } from './models.ts';
import { type PhotoFile, photoBenchFiles, sharpPreprocess } from './photo-files.ts';
import { median, round } from './stats.ts';
import { startInstance } from './workerd.ts';

const WARMUP = 2;
const RUNS = 7;

export interface PhotoEdgeRow {
  file: string;
  bytes: number;
  width: number;
  height: number;
  /** Worker `server-timing` preprocess, median ms. */
  edge_preprocess_ms: number;
  /** sharp decode + rotate + resize, median ms. */
  sharp_ms: number;
  preprocess_ratio: number;
  /** Worker `server-timing` total (whole request inside the Worker), median ms. */
  edge_server_ms: number;
  /** sharp + normalise + onnxruntime-node 1 thread, median ms. */
  native_ms: number;
  server_ratio: number;
}

export interface PhotoEdgeResult {
  model: string;
  engine: string;
  build: string;
  runs: number;
  rows: PhotoEdgeRow[];
  /** Worst of the four preprocessing ratios (goal ≤ 2). */
  photo_preprocess_vs_native_ratio: number;
  /** Whole-request server time of the 12 MP JPEG, median ms. */
  phone_photo_server_ms: number;
}

export async function photoEdgeTable(
  setup: EdgeSetup,
  reference: BenchModel,
  log: (m: string) => void,
): Promise<PhotoEdgeResult> {
  const files = await photoBenchFiles();
  const row = servingRow(reference);
  const spec = reference.manifest.preprocess;
  const session = await ortNode.InferenceSession.create(reference.fp32, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const input = session.inputNames[0]!;
  const native = async (f: PhotoFile): Promise<{ sharp: number; whole: number }> => {
    const t0 = performance.now();
    const raw = await sharpPreprocess(f.bytes, spec.width, spec.height);
    const t1 = performance.now();
    const image = { width: spec.width, height: spec.height, channels: 3 as const, data: new Uint8Array(raw) };
    const tensor = new ortNode.Tensor('float32', imageToTensor(image, spec), reference.dims);
    await session.run({ [input]: tensor });
    return { sharp: t1 - t0, whole: performance.now() - t0 };
  };
  const inst = await startInstance(setup.prod[row.build], setup.r2Dir, row.bindings);
  const rows: PhotoEdgeRow[] = [];
  try {
    for (const f of files) {
      log(
        `photo table: ${f.label}, ${WARMUP} warm-up + ${RUNS} requests to workerd alternating with sharp + onnxruntime-node`,
      );
      for (let i = 0; i < WARMUP; i++) {
        await classify(inst.url, row, f.bytes, f.contentType);
        await native(f);
      }
      const edgePre: number[] = [];
      const edgeTotal: number[] = [];
      const sharpMs: number[] = [];
      const nativeMs: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const t = await classify(inst.url, row, f.bytes, f.contentType);
        if (t.preprocess === undefined || t.total === undefined)
          throw new Error(`the Worker's server-timing lacks preprocess/total for ${f.label}`);
        edgePre.push(t.preprocess);
        edgeTotal.push(t.total);
        const n = await native(f);
        sharpMs.push(n.sharp);
        nativeMs.push(n.whole);
      }
      const pre = median(edgePre);
      const sh = median(sharpMs);
      const total = median(edgeTotal);
      const nat = median(nativeMs);
      rows.push({
        file: f.label,
        bytes: f.bytes.byteLength,
        width: f.width,
        height: f.height,
        edge_preprocess_ms: round(pre),
        sharp_ms: round(sh),
        preprocess_ratio: round(pre / sh, 2),
        edge_server_ms: round(total),
        native_ms: round(nat),
        server_ratio: round(total / nat, 2),
      });
    }
  } finally {
    await inst.dispose();
    await session.release();
  }
  return {
    model: reference.name,
    engine: row.engine,
    build: row.build,
    runs: RUNS,
    rows,
    photo_preprocess_vs_native_ratio: Math.max(...rows.map((r) => r.preprocess_ratio)),
    phone_photo_server_ms: rows[0]!.edge_server_ms,
  };
}

/** The README's photo table. */
export function renderPhotoTable(r: PhotoEdgeResult): string[] {
  const lines = [
    `Photos in workerd (${r.model}, ${r.engine}, ${r.build} build; server-timing medians of ${r.runs} requests, ` +
      'native = sharp + onnxruntime-node 1 thread in the same loop):',
    '',
    '| file | bytes | preprocess workerd ms | sharp ms | ratio | request workerd ms | native ms | ratio |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const x of r.rows) {
    lines.push(
      `| ${x.file} (${x.width}×${x.height}) | ${(x.bytes / 1e6).toFixed(2)} MB | ${x.edge_preprocess_ms.toFixed(1)} | ` +
        `${x.sharp_ms.toFixed(1)} | ${x.preprocess_ratio.toFixed(2)}× | ${x.edge_server_ms.toFixed(1)} | ` +
        `${x.native_ms.toFixed(1)} | ${x.server_ratio.toFixed(2)}× |`,
    );
  }
  lines.push('');
  lines.push(
    `photo_preprocess_vs_native_ratio ${r.photo_preprocess_vs_native_ratio} (worst of four; goal ≤ 2), ` +
      `phone_photo_server_ms ${r.phone_photo_server_ms} (12 MP JPEG).`,
  );
  return lines;
}
