import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileStore } from '../../../shared/store/node/file.ts';
import { openStore } from '../../../shared/store/node/open.ts';
import { S3Store } from '../../../shared/store/node/s3.ts';

describe('openStore', () => {
  it('resolves relative and absolute file:// URLs', () => {
    const rel = openStore('file://.edgetune/store', { cwd: '/srv/project' });
    expect(rel).toBeInstanceOf(FileStore);
    expect((rel as FileStore).root).toBe(path.resolve('/srv/project/.edgetune/store'));
    const abs = openStore('file:///var/lib/edgetune');
    expect((abs as FileStore).root).toBe('/var/lib/edgetune');
    expect(abs.url).toBe('file:///var/lib/edgetune');
    expect((openStore('file://localhost/var/x') as FileStore).root).toBe('/var/x');
    expect((openStore(undefined, { cwd: '/x' }) as FileStore).root).toBe('/x/.edgetune/store');
  });

  it('parses s3:// URLs without echoing secrets', () => {
    const s = openStore(
      's3://my-bucket/some/prefix?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=auto&forcePathStyle=true&accessKeyId=AK&secretAccessKey=SECRET',
    );
    expect(s).toBeInstanceOf(S3Store);
    expect(s.url).toBe('s3://my-bucket/some/prefix/');
    expect(s.url).not.toContain('SECRET');
  });

  it('rejects unknown schemes, parameters and half credentials', () => {
    expect(() => openStore('ftp://x')).toThrow(/unsupported store URL/);
    expect(() => openStore('s3://bkt/p?bogus=1')).toThrow(/unknown s3 store URL parameter "bogus"/);
    expect(() => openStore('s3://bkt/p?accessKeyId=a')).toThrow(/both accessKeyId and secretAccessKey/);
    expect(() => openStore('s3://bad_bucket/p')).toThrow(/invalid S3 bucket name/);
  });
});
