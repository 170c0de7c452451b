/**
 * Where the edge's preprocessing time goes, per stage, in Node (the same shared/preprocess code
 * the Worker runs): the bench uploads through decode → orientation → resize → tensor, next to
 * sharp's decode + rotate + resize of the same bytes.
 *
 * For JPEGs the decode is split further, by timing each call into the kernels (jpeg.wasm's exports
 * are wrapped here, in this script only) and by subtraction:
 * - entropy decode: decodeSequential of a kernel variant built without the per-block IDCT;
 * - IDCT: decodeSequential (entropy + IDCT) minus that, plus idctPlane (progressive files);
 * - colour: yccToRgb; copies: the input copied into and the pixels out of wasm memory;
 * - markers/tables: the rest of decodeJpeg (TypeScript: segments, Huffman tables, layout);
 * - orientation: decodeImage minus decodeJpeg; resize + tensor: preprocessBytes minus decodeImage.
 * Medians of PHOTO_PROFILE_RUNS (15) after 3 warm-ups each, in process CPU time (the decode is
 * synchronous on one thread; on a machine shared with other jobs CPU time is the steadier measure).
 *
 *   node --no-warnings --import tsx bench/photo-profile.ts
 *   PHOTO_PROFILE_ONLY=0 node --cpu-prof --import tsx bench/photo-profile.ts   (a V8 profile)
 */
import os from 'node:os';
import sharp from 'sharp';
import { buildJpegKernels } from '../codecs/jpeg/build.ts';
import { PHOTO_SPEC } from './photo-spec.ts';
import { decodeImage } from '../shared/preprocess/decode.ts';
import { decodeJpeg } from '../shared/preprocess/jpeg/decode.ts';
import { installJpegModule } from '../shared/preprocess/jpeg/wasm.ts';
import { decodeTargetFor, preprocessBytes } from '../shared/preprocess/preprocess.ts';
import { installNodeCodecs, nodeCodecModules } from '../training/images/node-codecs.ts';
import { type PhotoFile, photoBenchFiles, sharpPreprocess } from './photo-files.ts';

const spec = PHOTO_SPEC;

/** Milliseconds spent in each wrapped kernel export since the last reset. */
const kernelMs: Record<string, number> = {};
const KERNELS = ['decodeSequential', 'idctPlane', 'yccToRgb'];
const now = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

// Wraps the JPEG kernels' exports with timers: the decoder instantiates with `new
// WebAssembly.Instance`, and a constructor may return another object with an `exports` field.
const Instance = WebAssembly.Instance;
function TimedInstance(module: WebAssembly.Module, imports?: WebAssembly.Imports): WebAssembly.Instance {
  const instance = new Instance(module, imports);
  if (!('decodeSequential' in instance.exports)) return instance;
  const exports: Record<string, unknown> = { ...instance.exports };
  for (const name of KERNELS) {
    const f = instance.exports[name] as (...a: number[]) => number;
    exports[name] = (...a: number[]) => {
      const t = now();
      const r = f(...a);
      kernelMs[name] = (kernelMs[name] ?? 0) + now() - t;
      return r;
    };
  }
  return { exports } as WebAssembly.Instance;
}
(WebAssembly as { Instance: unknown }).Instance = TimedInstance;

await installNodeCodecs();
const normal = nodeCodecModules().jpeg;
// The same kernels without the IDCT call after each block: entropy decoding alone.
const entropyOnly = new WebAssembly.Module(
  new Uint8Array(
    await buildJpegKernels((file, source) =>
      file.endsWith('scan.ts')
        ? source.replace(/inverseDct\(BLOCK, [^;]*;/, '/* IDCT skipped for profiling */')
        : source,
    ),
  ),
);

const runs = Number(process.env.PHOTO_PROFILE_RUNS ?? 15);
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;

/** Median ms of `f` over the runs after 3 warm-ups, and of each kernel per run. */
function time(f: () => void): { ms: number; kernels: Record<string, number> } {
  for (let w = 0; w < 3; w++) f();
  const total: number[] = [];
  const perKernel: Record<string, number[]> = Object.fromEntries(KERNELS.map((k) => [k, []]));
  for (let r = 0; r < runs; r++) {
    for (const k of KERNELS) kernelMs[k] = 0;
    const t = now();
    f();
    total.push(now() - t);
    for (const k of KERNELS) perKernel[k]!.push(kernelMs[k]!);
  }
  const kernels: Record<string, number> = {};
  for (const k of KERNELS) kernels[k] = med(perKernel[k]!);
  return { ms: med(total), kernels };
}

async function sharpMs(bytes: Uint8Array): Promise<number> {
  for (let w = 0; w < 3; w++) await sharpPreprocess(bytes, spec.width, spec.height);
  const t: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = now();
    await sharpPreprocess(bytes, spec.width, spec.height);
    t.push(now() - t0);
  }
  return med(t);
}

const files: PhotoFile[] = await photoBenchFiles();
// Phones mostly store portrait photos sideways with EXIF orientation 6: the 12 MP JPEG re-encoded
// at q90 and so tagged.
const portrait = await sharp(files[0]!.bytes)
  .jpeg({ quality: 90 })
  .withMetadata({ orientation: 6 })
  .toBuffer();
files.splice(1, 0, { ...files[0]!, label: '12 MP JPEG q90, EXIF 6', bytes: new Uint8Array(portrait) });

console.log(
  `CPU: ${os.cpus()[0]?.model.trim()}, load ${os.loadavg()[0]!.toFixed(2)}, median of ${runs} runs, ms`,
);
console.log(
  '| file | scale | edgetune | sharp | ratio | markers/tables | entropy | IDCT | colour | copies | orientation | resize+tensor |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
// PHOTO_PROFILE_ONLY=<index> profiles one file alone (0: 12 MP JPEG, 1: the same with EXIF 6 … 4: PNG).
const only = process.env.PHOTO_PROFILE_ONLY;
for (const [i, f] of files.entries()) {
  if (only !== undefined && Number(only) !== i) continue;
  const total = time(() => preprocessBytes(f.bytes, spec));
  const native = await sharpMs(f.bytes);
  const ratio = `${(total.ms / native).toFixed(2)}×`;
  if (f.contentType !== 'image/jpeg') {
    console.log(`| ${f.label} | | ${total.ms.toFixed(1)} | ${native.toFixed(1)} | ${ratio} | | | | | | | |`);
    continue;
  }
  const options = decodeTargetFor(spec);
  const image = decodeImage(f.bytes, options);
  const decoded = time(() => decodeImage(f.bytes, options));
  const jpeg = time(() => decodeJpeg(f.bytes, image.scale, false));
  installJpegModule(entropyOnly);
  const entropy = time(() => decodeJpeg(f.bytes, image.scale, false));
  installJpegModule(normal);
  const copies = time(() => {
    new Uint8Array(f.bytes.length).set(f.bytes);
    image.data.slice();
  });
  const k = jpeg.kernels;
  const entropyMs = entropy.kernels.decodeSequential!;
  const idctMs = k.decodeSequential! - entropyMs + k.idctPlane!;
  const kernelsMs = k.decodeSequential! + k.idctPlane! + k.yccToRgb!;
  const cells = [
    jpeg.ms - kernelsMs - copies.ms,
    entropyMs,
    idctMs,
    k.yccToRgb!,
    copies.ms,
    decoded.ms - jpeg.ms,
    total.ms - decoded.ms,
  ].map((v) => Math.max(0, v).toFixed(1));
  console.log(
    `| ${f.label} | 1/${image.scale} | ${total.ms.toFixed(1)} | ${native.toFixed(1)} | ${ratio} | ${cells.join(' | ')} |`,
  );
}
