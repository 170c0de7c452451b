/**
 * The int8 accuracy part of `npm run bench` alone (the whole bench takes many minutes):
 * `node --no-warnings --import tsx bench/int8-accuracy-run.ts` trains the bench models as the
 * bench does, prints the int8 rows and writes them to bench/out/int8-accuracy.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../local-edge/bundle.ts';
import { int8AccuracyBench } from './int8-accuracy.ts';
import { digitsModel, referenceModel } from './models.ts';

const started = performance.now();
const log = (m: string) =>
  console.error(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}`);
const models = [await referenceModel(log), await digitsModel(log)];
const result = {
  cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
  date: new Date().toISOString(),
  ...(await int8AccuracyBench(models, log, { mobilenetDigits: true })),
};
const out = path.join(projectRoot, 'bench', 'out');
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 'int8-accuracy.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
