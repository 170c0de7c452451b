import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverCtor = new (options: Record<string, unknown>) => S3rverInstance;

/** s3rver ships no types; it is loaded through require with the small surface used here. */
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverCtor;

export interface RunningS3 {
  endpoint: string;
  bucket: string;
  /** `s3://bucket/prefix?endpoint=...` with the dummy credentials s3rver accepts. */
  url(prefix?: string): string;
  close(): Promise<void>;
}

/** An in-process S3 server on 127.0.0.1 with a random port and a throw-away directory. */
export async function startS3rver(bucket = 'edgetune-test'): Promise<RunningS3> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'edgetune-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  const addr = await server.run();
  const endpoint = `http://127.0.0.1:${addr.port}`;
  return {
    endpoint,
    bucket,
    url: (prefix = '') =>
      `s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(endpoint)}&region=us-east-1&forcePathStyle=true` +
      '&accessKeyId=S3RVER&secretAccessKey=S3RVER',
    close: async () => {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Runs one s3rver for the calling test file (started before its tests, closed after them). */
export function s3rverPerFile(): () => RunningS3 {
  let running: RunningS3 | undefined;
  beforeAll(async () => {
    running = await startS3rver();
  });
  afterAll(async () => {
    await running?.close();
  });
  return () => {
    if (!running) throw new Error('s3rver is not running (used outside a test?)');
    return running;
  };
}
