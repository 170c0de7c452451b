import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../../shared/store/node/open.ts';
import { S3Store } from '../../../shared/store/node/s3.ts';
import { describeObjectStoreContract } from './contract.ts';
import { type RunningS3, startS3rver } from './s3rver.ts';

let s3: RunningS3;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3?.close();
});

// s3rver 3.7.1 ignores If-Match / If-None-Match on PutObject (it has no code for them), so the
// conditional-write cases are skipped here; they run against the file store and miniflare's R2,
// and the test below checks that S3Store sends the headers and maps the 412 answer.
describeObjectStoreContract('s3 (s3rver)', () => openStore(s3.url('contract/')), {
  conditionalWrites: false,
});

describe('S3Store specifics', () => {
  it('keeps keys under the URL prefix and strips it from listings', async () => {
    const a = openStore(s3.url('tenant-a/'));
    const b = openStore(s3.url('tenant-b'));
    await a.put('models/m/routing.json', 'a');
    await b.put('models/m/routing.json', 'b');
    expect(a.url).toBe('s3://edgetune-test/tenant-a/');
    expect((await a.list('models/')).objects.map((o) => o.key)).toEqual(['models/m/routing.json']);
    expect(new TextDecoder().decode((await b.get('models/m/routing.json'))!.body)).toBe('b');
    const root = openStore(s3.url());
    expect((await root.list('tenant-a/')).objects.map((o) => o.key)).toEqual([
      'tenant-a/models/m/routing.json',
    ]);
  });

  it('sends If-Match / If-None-Match and maps 412 and 409 to precondition_failed', async () => {
    const seen: Array<Record<string, string | undefined>> = [];
    let status = 412;
    const server = http.createServer((req, res) => {
      seen.push({
        method: req.method,
        ifMatch: req.headers['if-match'],
        ifNoneMatch: req.headers['if-none-match'],
      });
      req.resume();
      req.on('end', () => {
        res.writeHead(status, { 'content-type': 'application/xml' });
        res.end(`<?xml version="1.0"?><Error><Code>PreconditionFailed</Code><Message>no</Message></Error>`);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const store = new S3Store({
        bucket: 'b',
        endpoint: `http://127.0.0.1:${port}`,
        forcePathStyle: true,
        credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      });
      await expect(store.put('k', 'v', { ifNoneMatch: '*' })).rejects.toMatchObject({
        code: 'precondition_failed',
      });
      status = 409;
      await expect(store.put('k', 'v', { ifMatch: '"abc"' })).rejects.toMatchObject({
        code: 'precondition_failed',
      });
      expect(seen.filter((s) => s.method === 'PUT').map((s) => [s.ifMatch, s.ifNoneMatch])).toEqual([
        [undefined, '*'],
        ['"abc"', undefined],
      ]);
    } finally {
      server.close();
    }
  });
});
