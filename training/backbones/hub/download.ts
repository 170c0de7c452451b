/**
 * Downloading hub files into the local cache ($EDGETUNE_CACHE_DIR or .edgetune/cache), once:
 *
 *   hub/files/<sha256>        the bytes, content-addressed
 *   hub/refs/<sha256(url)>.json  which content a URL gave ({url, sha256, size})
 *
 * Every write is a temporary file renamed into place, so a reader (another training process, a
 * parallel test) sees a whole file or none, and an interrupted download leaves nothing that
 * looks cached. A pinned sha256 is checked before the rename: a mismatch caches nothing.
 * `HF_HUB_OFFLINE=1` (Hugging Face's variable) uses the cache only.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { EdgetuneError, errorMessage } from '../../../shared/errors.ts';
import { cacheRoot } from '../../cache-root.ts';

export interface DownloadOptions {
  /** Expected sha256 (hex): a different download is refused and nothing is cached. */
  sha256?: string;
  /** Sent as a bearer token (gated and private Hugging Face repositories need HF_TOKEN). */
  token?: string;
  /** Use the cache only; a file not in it is an error (or undefined for optional files). */
  offline?: boolean;
  /** Called as bytes arrive; `total` when the server sent a length. */
  onProgress?: (received: number, total: number | undefined) => void;
  cacheDir?: string;
}

export interface Downloaded {
  bytes: Uint8Array;
  sha256: string;
  /** The cached file. */
  path: string;
  /** true when no request was made. */
  cached: boolean;
}

const RefSchema = z.object({ url: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.number() });

const sha256Of = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

function dirs(cacheDir?: string) {
  const root = path.join(cacheDir ?? cacheRoot(), 'hub');
  return { files: path.join(root, 'files'), refs: path.join(root, 'refs') };
}

export function isOffline(env: NodeJS.ProcessEnv = process.env): boolean {
  return ['1', 'true', 'yes'].includes((env.HF_HUB_OFFLINE ?? '').toLowerCase());
}

async function atomicWrite(file: string, data: Uint8Array | string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** The cached content of `sha256`, re-hashed (a damaged cache file is dropped, never served). */
async function readCached(file: string, sha256: string): Promise<Uint8Array | undefined> {
  const bytes = await readFile(file).catch(() => undefined);
  if (!bytes) return undefined;
  if (sha256Of(bytes) === sha256) return new Uint8Array(bytes);
  await rm(file, { force: true });
  return undefined;
}

async function cachedRef(url: string, cacheDir?: string): Promise<z.infer<typeof RefSchema> | undefined> {
  const file = path.join(dirs(cacheDir).refs, `${sha256Of(url)}.json`);
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const r = RefSchema.safeParse(JSON.parse(text));
  return r.success && r.data.url === url ? r.data : undefined;
}

function mismatch(url: string, want: string, got: string): EdgetuneError {
  return new EdgetuneError(
    'checksum_mismatch',
    `${url} has sha256 ${got}, expected ${want}: refused, nothing cached`,
    { status: 400 },
  );
}

/** Why a response failed, in words a user can act on. */
function httpError(url: string, status: number, statusText: string, hasToken: boolean): EdgetuneError {
  if (status === 401 || status === 403) {
    return new EdgetuneError(
      status === 401 ? 'unauthorized' : 'forbidden',
      hasToken
        ? `${url}: ${status} ${statusText}: HF_TOKEN was sent but gives no access to this repository (gated: accept its terms on the hub)`
        : `${url}: ${status} ${statusText}: the repository is gated or private; set HF_TOKEN to a token with access`,
    );
  }
  if (status === 404) {
    return new EdgetuneError(
      'not_found',
      `${url}: 404 not found (check the repository, revision and file name)`,
    );
  }
  return new EdgetuneError('internal', `${url}: HTTP ${status} ${statusText}`);
}

async function fetchBody(url: string, options: DownloadOptions): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, {
      headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
      redirect: 'follow',
    });
  } catch (e) {
    const cause = e instanceof Error && e.cause ? errorMessage(e.cause) : errorMessage(e);
    throw new EdgetuneError(
      'not_ready',
      `cannot download ${url}: ${cause} (network failure; HF_ENDPOINT sets the hub, HF_HUB_OFFLINE=1 uses the cache)`,
      { cause: e },
    );
  }
  return res;
}

async function readStream(res: Response, url: string, options: DownloadOptions): Promise<Uint8Array> {
  const length = Number(res.headers.get('content-length'));
  const total = Number.isFinite(length) && length > 0 ? length : undefined;
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    if (!res.body) return new Uint8Array(await res.arrayBuffer());
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      chunks.push(chunk);
      received += chunk.byteLength;
      options.onProgress?.(received, total);
    }
  } catch (e) {
    throw new EdgetuneError(
      'not_ready',
      `download of ${url} broke off after ${received} bytes: ${errorMessage(e)}`,
      {
        cause: e,
      },
    );
  }
  if (total !== undefined && received !== total) {
    throw new EdgetuneError('not_ready', `download of ${url} ended after ${received} of ${total} bytes`);
  }
  const out = new Uint8Array(received);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * The bytes at `url`, from the cache when it has them (by pin, or by what this URL gave before),
 * else downloaded, verified against the pin and cached. `optional`: a 404 (or an offline miss)
 * gives undefined instead of an error — for config files a repository may not have.
 */
export async function download(
  url: string,
  options: DownloadOptions & { optional: true },
): Promise<Downloaded | undefined>;
export async function download(url: string, options?: DownloadOptions): Promise<Downloaded>;
export async function download(
  url: string,
  options: DownloadOptions & { optional?: boolean } = {},
): Promise<Downloaded | undefined> {
  const d = dirs(options.cacheDir);
  const pin = options.sha256?.toLowerCase();
  if (pin !== undefined && !/^[0-9a-f]{64}$/.test(pin)) {
    throw new EdgetuneError('bad_request', `--sha256 must be 64 hex digits, got '${options.sha256}'`);
  }
  const known = pin ?? (await cachedRef(url, options.cacheDir))?.sha256;
  if (known) {
    const file = path.join(d.files, known);
    const bytes = await readCached(file, known);
    if (bytes) {
      if (!(await cachedRef(url, options.cacheDir)))
        await atomicWrite(
          path.join(d.refs, `${sha256Of(url)}.json`),
          JSON.stringify({ url, sha256: known, size: bytes.byteLength }),
        );
      return { bytes, sha256: known, path: file, cached: true };
    }
  }
  if (options.offline) {
    if (options.optional) return undefined;
    throw new EdgetuneError('not_found', `${url} is not in the cache (${d.files}) and HF_HUB_OFFLINE is set`);
  }
  const res = await fetchBody(url, options);
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    if (options.optional && res.status === 404) return undefined;
    throw httpError(url, res.status, res.statusText, !!options.token);
  }
  const bytes = await readStream(res, url, options);
  const sha256 = sha256Of(bytes);
  if (pin && sha256 !== pin) throw mismatch(url, pin, sha256);
  const file = path.join(d.files, sha256);
  if (!fs.existsSync(file)) await atomicWrite(file, bytes);
  // The ref last: it points at a complete file.
  await atomicWrite(
    path.join(d.refs, `${sha256Of(url)}.json`),
    JSON.stringify({ url, sha256, size: bytes.byteLength }),
  );
  return { bytes, sha256, path: file, cached: false };
}

/** Progress on stderr: one updating line on a terminal, a line per quarter otherwise. */
export function stderrProgress(label: string): (received: number, total: number | undefined) => void {
  const tty = process.stderr.isTTY;
  let lastQuarter = -1;
  const mib = (n: number) => (n / 2 ** 20).toFixed(1);
  return (received, total) => {
    const pct = total ? Math.floor((100 * received) / total) : undefined;
    const text = `downloading ${label}: ${mib(received)}${total ? `/${mib(total)}` : ''} MiB${pct !== undefined ? ` (${pct}%)` : ''}`;
    if (tty) {
      process.stderr.write(`\r${text}${total && received >= total ? '\n' : ''}`);
      return;
    }
    const quarter = pct === undefined ? -1 : Math.floor(pct / 25);
    if (quarter > lastQuarter) {
      lastQuarter = quarter;
      process.stderr.write(`${text}\n`);
    }
  };
}
