/**
 * workerd (Miniflare) instances for the bench: the production Worker (functions/, bundled as
 * `wrangler deploy` would) and the bench-only Worker (bench/worker/), both bound to one local R2
 * directory so that models uploaded once are seen by every fresh instance (each cold-start sample
 * is a new workerd process: a genuinely cold isolate).
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Miniflare } from 'miniflare';
import { projectRoot } from '../training/serve/bundle.ts';

export interface Bundle {
  modules: { type: 'ESModule' | 'CompiledWasm'; path: string }[];
  dir: string;
  bytes: number;
}

/** `wrangler deploy --dry-run` of one wrangler config into `outDir`. */
export async function bundle(config: string, outDir: string): Promise<Bundle> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const wrangler = path.join(projectRoot, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [wrangler, 'deploy', '--dry-run', '--outdir', outDir, '--config', config],
      {
        cwd: projectRoot,
        env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let text = '';
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      text += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`wrangler failed (${code}): ${text.slice(-800)}`)),
    );
  });
  const files = await readdir(outDir);
  const main = files.find((f) => f.endsWith('.js'));
  if (!main) throw new Error(`wrangler produced no script in ${outDir}`);
  const modules: Bundle['modules'] = [{ type: 'ESModule', path: path.join(outDir, main) }];
  let bytes = (await stat(path.join(outDir, main))).size;
  for (const f of files.filter((n) => n.endsWith('.wasm'))) {
    modules.push({ type: 'CompiledWasm', path: path.join(outDir, f) });
    bytes += (await stat(path.join(outDir, f))).size;
  }
  return { modules, dir: outDir, bytes };
}

export interface Instance {
  url: URL;
  mf: Miniflare;
  dispose(): Promise<void>;
}

/** A fresh workerd process running `b`, with MODELS bound to the R2 data in `r2Dir`. */
export async function startInstance(
  b: Bundle,
  r2Dir: string,
  bindings: Record<string, string> = {},
): Promise<Instance> {
  const mf = new Miniflare({
    name: 'bench',
    modules: b.modules,
    modulesRoot: b.dir,
    compatibilityDate: '2026-04-20',
    r2Buckets: { MODELS: 'edgetune-models' },
    r2Persist: r2Dir,
    bindings,
    host: '127.0.0.1',
    port: 0,
  });
  const url = await mf.ready;
  return { url, mf, dispose: () => mf.dispose() };
}

/** JSON from the bench Worker, failing loudly on an error response. */
export async function call<T>(base: URL, pathAndQuery: string, method: 'GET' | 'POST' = 'POST'): Promise<T> {
  const res = await fetch(new URL(pathAndQuery, base), { method });
  const text = await res.text();
  if (!res.ok) throw new Error(`${pathAndQuery.split('?')[0]}: ${res.status} ${text.slice(0, 600)}`);
  return JSON.parse(text) as T;
}
