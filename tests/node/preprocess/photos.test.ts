/**
 * Real photos in, as clients send them (corpus: photo-corpus.ts, made by real tools): every file
 * decodes to what sharp/libvips decodes (EXIF orientation applied), and the tensor our one
 * preprocessing path gives the demo's MobileNetV2 has an embedding within cosine 0.99 of the
 * native pipeline (sharp .rotate() + antialiased resize + onnxruntime-node) and the same top-1
 * as the upright original.
 */
import fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEdgetuneError } from '../../../shared/errors.ts';
import {
  CURRENT_RESIZE,
  type PreprocessSpec,
  PreprocessSpecSchema,
} from '../../../shared/manifest/preprocess.ts';
import { encodeModel } from '../../../shared/onnx/proto.ts';
import { cutAt } from '../../../shared/onnx/surgery.ts';
import {
  decodeImage,
  preprocessBytes,
  type RawImage,
  writeImageTensor,
} from '../../../shared/preprocess/index.ts';
import { importBackbone } from '../../../training/backbones/import.ts';
import { installNodeCodecs } from '../../../training/images/node-codecs.ts';
import { buildPhotoCorpus, type Corpus } from './photo-corpus.ts';

let corpus: Corpus;
let spec: PreprocessSpec;
let classify: ort.InferenceSession;
let embed: ort.InferenceSession;
let inputName: string;

beforeAll(async () => {
  await installNodeCodecs();
  corpus = buildPhotoCorpus({ large: true });
  // The demo's photo backbone (converted once into $EDGETUNE_CACHE_DIR).
  const backbone = await importBackbone('nsfwjs:MobileNetV2');
  spec = PreprocessSpecSchema.parse({
    ...backbone.metadata.preprocess,
    layout: 'NCHW',
    resize: CURRENT_RESIZE,
  });
  const feature = backbone.metadata.features.at(-1)!.name;
  const options = { intraOpNumThreads: 1, executionProviders: ['cpu'] };
  classify = await ort.InferenceSession.create(backbone.bytes, options);
  embed = await ort.InferenceSession.create(encodeModel(cutAt(backbone.model, feature)), options);
  inputName = classify.inputNames[0]!;
}, 240_000);

afterAll(() => corpus?.cleanup());

const read = (p: string) => new Uint8Array(fs.readFileSync(p));

/**
 * sharp/libvips decode of the same bytes: orientation applied, alpha flattened on white, sRGB;
 * resized (when asked) with libvips' antialiased linear reduce — the filter `triangle` versions
 * record; sharp's default shrink-on-load (fastShrinkOnLoad) is what `triangle-fast` versions record.
 * (Against sharp's default lanczos3 the cosine is ~0.985: a different, sharper filter.)
 */
async function sharpPixels(bytes: Uint8Array, size?: { width: number; height: number }): Promise<RawImage> {
  let s = sharp(bytes).rotate().flatten({ background: '#ffffff' }).toColourspace('srgb');
  if (size) s = s.resize(size.width, size.height, { fit: 'fill', kernel: 'linear' });
  const { data, info } = await s.raw().toBuffer({ resolveWithObject: true });
  const rgb = new Uint8Array(info.width * info.height * 3);
  for (let i = 0; i < info.width * info.height; i++) {
    for (let c = 0; c < 3; c++) rgb[3 * i + c] = data[i * info.channels + Math.min(c, info.channels - 1)]!;
  }
  return { width: info.width, height: info.height, channels: 3, data: rgb };
}

function psnr(a: RawImage, b: RawImage): number {
  let se = 0;
  const n = a.width * a.height * 3;
  for (let i = 0; i < a.width * a.height; i++) {
    for (let c = 0; c < 3; c++) {
      const d = a.data[i * a.channels + (a.channels === 1 ? 0 : c)]! - b.data[3 * i + c]!;
      se += d * d;
    }
  }
  return se === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255 * n) / se);
}

async function run(input: Float32Array): Promise<{ embedding: Float32Array; top1: number }> {
  const tensor = new ort.Tensor('float32', input, [1, 3, spec.height, spec.width]);
  const e = await embed.run({ [inputName]: tensor });
  const p = await classify.run({ [inputName]: tensor });
  const probs = p[classify.outputNames[0]!]!.data as Float32Array;
  return {
    embedding: e[embed.outputNames[0]!]!.data as Float32Array,
    top1: probs.indexOf(Math.max(...probs)),
  };
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

/** The native reference pipeline: sharp decode + rotate + antialiased resize. */
async function nativeTensor(bytes: Uint8Array): Promise<Float32Array> {
  const img = await sharpPixels(bytes, { width: spec.width, height: spec.height });
  const out = new Float32Array(3 * spec.width * spec.height);
  writeImageTensor(img, spec, out, 0);
  return out;
}

describe('photo corpus: decoded pixels match sharp (libvips)', () => {
  it('every file, orientation applied; large JPEGs at their shrink-on-load size', async () => {
    const rows: string[] = [];
    for (const f of corpus.files) {
      const bytes = read(f.path);
      const ours = decodeImage(bytes, f.large ? { target: { width: 224, height: 224 } } : {});
      expect(ours.orientation, f.name).toBe(f.orientation);
      // Large files: libvips' own decode resized (bicubic) to the size our shrink-on-load produced.
      const ref = await sharpPixels(bytes, f.large ? { width: ours.width, height: ours.height } : undefined);
      expect([ours.width, ours.height], f.name).toEqual([ref.width, ref.height]);
      const db = psnr(ours, ref);
      rows.push(`${f.name} ${ours.width}×${ours.height} 1/${ours.scale} ${db.toFixed(1)} dB`);
      // CMYK: sharp converts through an ICC profile, we use the plain Adobe formula (no colour management).
      expect(db, f.name).toBeGreaterThanOrEqual(f.name === 'cmyk.jpg' ? 25 : 40);
    }
    console.log(rows.join('\n'));
  }, 240_000);
});

describe('photo corpus: embeddings match the native pipeline on MobileNetV2', () => {
  it('cosine ≥ 0.99 to sharp + onnxruntime-node and the upright original’s top-1, every file', async () => {
    const uprightTop1 = new Map<string, number>();
    const rows: string[] = [];
    for (const f of corpus.files) {
      if (!uprightTop1.has(f.upright))
        uprightTop1.set(f.upright, (await run(await nativeTensor(read(f.upright)))).top1);
      const bytes = read(f.path);
      const ours = await run(preprocessBytes(bytes, spec).data);
      const native = await run(await nativeTensor(bytes));
      const cos = cosine(ours.embedding, native.embedding);
      rows.push(`${f.name} cosine ${cos.toFixed(4)} top-1 ${ours.top1}`);
      // CMYK: libvips converts through an ICC profile, we use the Adobe formula (measured 0.970).
      expect(cos, f.name).toBeGreaterThanOrEqual(f.name === 'cmyk.jpg' ? 0.96 : 0.99);
      expect(ours.top1, f.name).toBe(uprightTop1.get(f.upright));
    }
    console.log(rows.join('\n'));
  }, 300_000);
});

describe('shrink-on-load and limits by decoded pixels', () => {
  it('decodes a 48 MP JPEG at 1/8 for a 224×224 model and counts the pixels it materialises', () => {
    const bytes = read(corpus.files.find((f) => f.name === '48mp.jpg')!.path);
    const limits = { maxPixels: 2_000_000 };
    const img = decodeImage(bytes, { ...limits, target: { width: 224, height: 224 } });
    expect([img.width, img.height, img.scale]).toEqual([1000, 750, 8]);
    // Without a target (a `bilinear` version, full-size decode) the same file exceeds the limit.
    const code = (() => {
      try {
        decodeImage(bytes, limits);
      } catch (e) {
        return isEdgetuneError(e) ? `${e.code} ${e.status}` : 'other';
      }
      return 'decoded';
    })();
    expect(code).toBe('image_too_large 413');
  });

  it('refuses AVIF and HEIC with a 415 that says to send JPEG', () => {
    for (const f of corpus.refused) {
      let error: unknown;
      try {
        decodeImage(read(f.path));
      } catch (e) {
        error = e;
      }
      expect(isEdgetuneError(error) && error.status, f.name).toBe(415);
      expect((error as Error).message, f.name).toMatch(/send JPEG/);
    }
  });
});
