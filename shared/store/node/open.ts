import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EdgetuneError } from '../../errors.ts';
import type { ObjectStore } from '../types.ts';
import { FileStore } from './file.ts';
import { S3Store } from './s3.ts';

export const DEFAULT_STORE_URL = 'file://.edgetune/store';

/**
 * Opens a store from a URL:
 * - `file://<dir>`: relative dirs resolve against `cwd` (`file://.edgetune/store`), absolute ones
 *   as usual (`file:///srv/models`).
 * - `s3://<bucket>/<prefix>?endpoint=...&region=...&forcePathStyle=true`: credentials come from
 *   the standard AWS environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
 *   profiles, ...) unless `accessKeyId` & `secretAccessKey` (& `sessionToken`) are given as URL
 *   parameters. The endpoint may also come from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, the
 *   region from AWS_REGION / AWS_DEFAULT_REGION.
 */
export function openStore(url: string = DEFAULT_STORE_URL, options: { cwd?: string } = {}): ObjectStore {
  const cwd = options.cwd ?? process.cwd();
  if (url.startsWith('file://')) return new FileStore(fileDir(url, cwd));
  if (url.startsWith('s3://')) return openS3(url);
  throw new EdgetuneError(
    'bad_request',
    `unsupported store URL ${JSON.stringify(url)}: use file://<dir> or s3://<bucket>/<prefix>`,
  );
}

function fileDir(url: string, cwd: string): string {
  const rest = url.slice('file://'.length);
  if (rest === '') throw new EdgetuneError('bad_request', 'file:// store URL needs a directory');
  if (rest.startsWith('/') || rest.startsWith('localhost/')) return fileURLToPath(new URL(url));
  // Relative paths are not valid file URLs; take them literally (percent-decoding for symmetry).
  return path.resolve(cwd, decodeURIComponent(rest));
}

const S3_PARAMS = new Set([
  'endpoint',
  'region',
  'forcePathStyle',
  'accessKeyId',
  'secretAccessKey',
  'sessionToken',
]);

function openS3(raw: string): S3Store {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new EdgetuneError('bad_request', `invalid store URL ${JSON.stringify(raw)}`);
  }
  const bucket = url.hostname;
  if (!/^[a-z0-9][a-z0-9.-]{1,62}$/.test(bucket)) {
    throw new EdgetuneError('bad_request', `invalid S3 bucket name ${JSON.stringify(bucket)}`);
  }
  const p = url.searchParams;
  for (const k of p.keys()) {
    if (!S3_PARAMS.has(k)) throw new EdgetuneError('bad_request', `unknown s3 store URL parameter "${k}"`);
  }
  const prefix = decodeURIComponent(url.pathname).replace(/^\/+/, '');
  const accessKeyId = p.get('accessKeyId');
  const secretAccessKey = p.get('secretAccessKey');
  if ((accessKeyId === null) !== (secretAccessKey === null)) {
    throw new EdgetuneError(
      'bad_request',
      's3 store URL: give both accessKeyId and secretAccessKey, or neither',
    );
  }
  const forcePathStyle = p.get('forcePathStyle');
  const env = process.env;
  const normalisedPrefix = prefix.replace(/\/+$/, '');
  return new S3Store({
    bucket,
    prefix,
    endpoint: p.get('endpoint') ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL ?? undefined,
    region: p.get('region') ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    forcePathStyle: forcePathStyle === null ? undefined : forcePathStyle === 'true' || forcePathStyle === '1',
    credentials:
      accessKeyId !== null && secretAccessKey !== null
        ? { accessKeyId, secretAccessKey, sessionToken: p.get('sessionToken') ?? undefined }
        : undefined,
    // Never print secrets that came in the URL.
    url: `s3://${bucket}/${normalisedPrefix ? `${normalisedPrefix}/` : ''}`,
  });
}
