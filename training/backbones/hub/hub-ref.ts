/**
 * Model-hub sources for `--backbone`, `import-model` and `backbone import`:
 *
 *   hf:<org>/<repo>[@<revision>][/<path/to/file.onnx>]   Hugging Face layout (also accepts the
 *   hf:<org>/<repo>/<file.onnx>@<revision>               revision after the file)
 *   https://host/…/model.onnx                            any plain URL
 *
 * A hub file lives at `{endpoint}/{org}/{repo}/resolve/{revision}/{path}` (the layout
 * transformers.js and huggingface_hub resolve), the endpoint from `HF_ENDPOINT` so a mirror or a
 * local test server can stand in for huggingface.co. No I/O here.
 */
import { EdgetuneError } from '../../../shared/errors.ts';

export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co';
export const DEFAULT_REVISION = 'main';
/** The file a repository is asked for when the source names none. */
export const DEFAULT_HF_FILE = 'model.onnx';

export type HubRef =
  | { kind: 'hf'; repo: string; revision: string; file: string }
  | { kind: 'url'; url: string };

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const REVISION = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;

export function isHubSource(source: string): boolean {
  const s = source.trim().toLowerCase();
  return s.startsWith('hf:') || s.startsWith('https://') || s.startsWith('http://');
}

function bad(source: string, why: string): EdgetuneError {
  return new EdgetuneError(
    'bad_request',
    `bad hub source '${source}': ${why} (use hf:<org>/<repo>[@revision][/file.onnx] or https://…/model.onnx)`,
  );
}

/** Parses a hub source string; throws a one-line error naming the expected forms. */
export function parseHubRef(source: string): HubRef {
  const s = source.trim();
  if (/^https?:\/\//i.test(s)) {
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      throw bad(source, 'not a URL');
    }
    if (!url.pathname.toLowerCase().endsWith('.onnx')) throw bad(source, 'the URL must name a .onnx file');
    return { kind: 'url', url: url.href };
  }
  let rest = s.slice('hf:'.length);
  // A trailing @revision after the file (the form) is the same as one after the repo.
  let revision: string | undefined;
  const tail = /^([^@]+\.onnx)@([^@]+)$/i.exec(rest);
  if (tail) {
    rest = tail[1]!;
    revision = tail[2]!;
  }
  const parts = rest.split('/');
  const org = parts[0] ?? '';
  let name = parts[1] ?? '';
  const at = name.indexOf('@');
  if (at >= 0) {
    if (revision) throw bad(source, 'two revisions');
    revision = name.slice(at + 1);
    name = name.slice(0, at);
  }
  if (!SEGMENT.test(org) || !SEGMENT.test(name)) throw bad(source, 'expected <org>/<repo>');
  const file = parts.slice(2).join('/') || DEFAULT_HF_FILE;
  if (
    file.split('/').some((p) => p === '..' || p === '.' || p === '') ||
    !file.toLowerCase().endsWith('.onnx')
  )
    throw bad(source, `'${file}' is not a .onnx path inside the repository`);
  revision ??= DEFAULT_REVISION;
  if (!REVISION.test(revision) || revision.includes('..')) throw bad(source, `bad revision '${revision}'`);
  return { kind: 'hf', repo: `${org}/${name}`, revision, file };
}

/** The canonical spelling, recorded in manifests and recipes (retraining resolves it again). */
export function formatHubRef(ref: HubRef): string {
  return ref.kind === 'url' ? ref.url : `hf:${ref.repo}@${ref.revision}/${ref.file}`;
}

/** `HF_ENDPOINT` (Hugging Face's own convention) or huggingface.co, without a trailing slash. */
export function hfEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  const e = env.HF_ENDPOINT?.trim() || DEFAULT_HF_ENDPOINT;
  return e.replace(/\/+$/, '');
}

/** URL of a file in the ref's repository and revision; `file` defaults to the ref's own file. */
export function hubFileUrl(ref: HubRef, file?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (ref.kind === 'url') return file ? new URL(file, ref.url).href : ref.url;
  const enc = (p: string) => p.split('/').map(encodeURIComponent).join('/');
  return `${hfEndpoint(env)}/${enc(ref.repo)}/resolve/${encodeURIComponent(ref.revision)}/${enc(file ?? ref.file)}`;
}
