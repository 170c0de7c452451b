import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { FileStore } from '../../../shared/store/node/file.ts';
import { openStore } from '../../../shared/store/node/open.ts';
import { describeCasContract } from './cas-contract.ts';
import { type RunningS3, startS3rver } from './s3rver.ts';

const dirs: string[] = [];
let s3: RunningS3;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describeCasContract(
  'file',
  async () => {
    const d = await mkdtemp(path.join(os.tmpdir(), 'edgetune-cas-'));
    dirs.push(d);
    return new FileStore(d);
  },
  { conditionalWrites: true },
);

// s3rver ignores If-Match / If-None-Match (see s3-store.test.ts), so only the single-writer cases
// run here; the racing ones run on the file store above and on R2 in workerd.
describeCasContract('s3 (s3rver)', () => openStore(s3.url('cas/')), { conditionalWrites: false });
