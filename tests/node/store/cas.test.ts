import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { FileStore } from '../../../shared/store/node/file.ts';
import { openStore } from '../../../shared/store/node/open.ts';
import { describeCasContract } from './cas-contract.ts';
import { s3rverPerFile } from './s3rver.ts';

const s3 = s3rverPerFile();
const dirs: string[] = [];
afterAll(async () => {
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
describeCasContract('s3 (s3rver)', () => openStore(s3().url('cas/')), { conditionalWrites: false });
