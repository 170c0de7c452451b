/**
 * Step 5: real requests with image files — digit crops cut from the sheet (PNG) to the digits
 * model, the original photos (PNG and JPEG) to the MobileNetV2 model, and embeddings — with
 * latencies measured at the client.
 */
import path from 'node:path';
import type { DemoContext } from './context.ts';
import type { EdgeClient } from './edge-client.ts';
import { measure } from './edge-client.ts';
import { PHOTO_CLASSES, photoFile, writeDigitPngs } from './images.ts';
import { pct } from './narrator.ts';
import { MODEL_NAMES } from './profile.ts';
import { describeLatency, type LatencyStats } from './stats.ts';

export interface Prediction {
  file: string;
  label: string;
  predicted: string;
  score: number;
  version: string;
}

export interface RequestsOutcome {
  digits: { predictions: Prediction[]; correct: number; latency: LatencyStats };
  photos: { predictions: Prediction[]; correct: number; coldMs: number; latency: LatencyStats };
  embed: { model: string; dim: number; norm: number; head: number[]; latency: LatencyStats };
}

export async function requestsStep(ctx: DemoContext, client: EdgeClient): Promise<RequestsOutcome> {
  const { n, profile } = ctx;
  const name = MODEL_NAMES.digits;
  const files = await writeDigitPngs(path.join(ctx.workDir, 'images'), profile.digits.requests);
  n.say(
    `POST /v1/models/${name}/classify with ${files.length} PNG files cut from the sheet (never trained on):`,
  );
  const digitPredictions: Prediction[] = [];
  for (const f of files) {
    const r = await client.classify(name, f);
    const top = r.body.predictions[0]!;
    digitPredictions.push({
      file: f.file,
      label: f.label,
      predicted: top.label,
      score: top.score,
      version: r.servedBy,
    });
  }
  n.say(
    `  ${digitPredictions
      .map((p) => `${p.label}→${p.predicted}${p.label === p.predicted ? '' : '✗'} (${p.score.toFixed(2)})`)
      .join('  ')}`,
  );
  const digitsCorrect = digitPredictions.filter((p) => p.label === p.predicted).length;
  n.say(
    `  ${digitsCorrect}/${files.length} correct, served by ${digitPredictions[0]!.version} (x-model-version)`,
  );
  const digitLatency = await measure(profile.latencyRequests, () => client.classify(name, files[0]!));
  n.say(`  latency at the client: ${describeLatency(digitLatency)}`);

  const photosName = MODEL_NAMES.photos;
  const classes = Object.keys(PHOTO_CLASSES) as (keyof typeof PHOTO_CLASSES)[];
  n.say(`POST /v1/models/${photosName}/classify with the original photos:`);
  const photoPredictions: Prediction[] = [];
  let coldMs = 0;
  for (const cls of classes) {
    const f = photoFile(cls);
    const r = await client.classify(photosName, f);
    if (photoPredictions.length === 0) coldMs = r.ms;
    const top = r.body.predictions[0]!;
    photoPredictions.push({
      file: f.file,
      label: cls,
      predicted: top.label,
      score: top.score,
      version: r.servedBy,
    });
    n.say(
      `  ${path.basename(f.file)} (${f.type}, ${Math.round(f.bytes.length / 1024)} KiB) → ${top.label} ` +
        `${pct(top.score)} [${r.servedBy}, ${Math.round(r.ms)} ms]`,
    );
  }
  n.say(`  first request ${Math.round(coldMs)} ms (cold: model fetched from R2 and wasm session created)`);
  const cat = photoFile('cat');
  const photoLatency = await measure(Math.max(5, Math.round(profile.latencyRequests / 4)), () =>
    client.classify(photosName, cat),
  );
  n.say(`  MobileNetV2 latency (warm): ${describeLatency(photoLatency)}`);

  const e = await client.embed(photosName, cat);
  const norm = Math.sqrt(e.body.embedding.reduce((s, v) => s + v * v, 0));
  if (e.body.embedding.length !== e.body.dim) {
    throw new Error(`embed: dim says ${e.body.dim} but the embedding has ${e.body.embedding.length} values`);
  }
  const embedLatency = await measure(Math.max(5, Math.round(profile.latencyRequests / 4)), () =>
    client.embed(photosName, cat),
  );
  const head = e.body.embedding.slice(0, 4).map((v) => Number(v.toFixed(4)));
  n.say(
    `POST /v1/models/${photosName}/embed (${path.basename(cat.file)}): ${e.body.dim}-d, ‖e‖ ${norm.toFixed(2)}, ` +
      `[${head.join(', ')}, …]; ${describeLatency(embedLatency)}`,
  );
  return {
    digits: { predictions: digitPredictions, correct: digitsCorrect, latency: digitLatency },
    photos: {
      predictions: photoPredictions,
      correct: photoPredictions.filter((p) => p.label === p.predicted).length,
      coldMs: Math.round(coldMs),
      latency: photoLatency,
    },
    embed: { model: photosName, dim: e.body.dim, norm, head, latency: embedLatency },
  };
}
