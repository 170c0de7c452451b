import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { EdgetuneError } from '../shared/errors.ts';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface WorkerBundle {
  dir: string;
  /** Main ES module first, then the precompiled wasm modules. */
  modules: { type: 'ESModule' | 'CompiledWasm'; path: string }[];
  bytes: number;
  /** gzip size of all modules together, computed the way wrangler does for the plan limits. */
  gzipBytes: number;
  /** wrangler's own "Total Upload: … KiB / gzip: … KiB" figures, in bytes. */
  reported: { bytes: number; gzipBytes: number };
}

/** The Worker builds in wrangler.toml: `engine` is the top level, `full` is `[env.full]`. */
export type WorkerBuild = 'engine' | 'full';
export const WORKER_BUILDS: readonly WorkerBuild[] = ['engine', 'full'];

/** The wrangler environment a build deploys with ('' = the top level). */
export function wranglerEnv(build: WorkerBuild): string {
  return build === 'full' ? 'full' : '';
}

export interface BundleOptions {
  /** wrangler config to bundle (default: the project's wrangler.toml, i.e. functions/). */
  config?: string;
  /** Which build of the project's Worker (default `engine`, the engine-only one). */
  build?: WorkerBuild;
}

/**
 * Runs the project's wrangler with `args` (metrics off, no colour) and resolves with everything
 * it printed; a non-zero exit rejects with the tail of that output.
 */
export function runWrangler(args: readonly string[], what = 'wrangler'): Promise<string> {
  const wrangler = path.join(projectRoot, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
  return new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [wrangler, ...args], {
      cwd: projectRoot,
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      text += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(text)
        : reject(new EdgetuneError('internal', `${what} failed (exit ${code}): ${text.slice(-800)}`)),
    );
  });
}

const KIB = 1024;
const TOTAL_UPLOAD = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/;

/**
 * Bundles a Worker exactly as `wrangler deploy` would (dry run), so the local server runs the
 * same artefact that production gets.
 */
export async function bundleWorker(outDir: string, options: BundleOptions = {}): Promise<WorkerBundle> {
  // An explicit --env, also for the top level: wrangler warns when a config has environments and
  // none is named.
  const args = ['deploy', '--dry-run', '--outdir', outDir, `--env=${wranglerEnv(options.build ?? 'engine')}`];
  if (options.config) args.push('--config', options.config);
  const output = await runWrangler(args, 'wrangler bundle');
  const files = await readdir(outDir);
  const main = files.find((f) => f.endsWith('.js') && !f.endsWith('.map'));
  if (!main) throw new EdgetuneError('internal', `wrangler produced no script in ${outDir}`);
  const modules: WorkerBundle['modules'] = [{ type: 'ESModule', path: path.join(outDir, main) }];
  for (const f of files.filter((name) => name.endsWith('.wasm')).sort()) {
    modules.push({ type: 'CompiledWasm', path: path.join(outDir, f) });
  }
  // Like wrangler: one gzip stream over the modules, then the main script (wrangler's module order
  // is not in the output folder, so this can differ from its figure by a fraction of a percent).
  const contents = await Promise.all([...modules.slice(1), modules[0]!].map((m) => readFile(m.path)));
  const all = Buffer.concat(contents);
  const match = TOTAL_UPLOAD.exec(output);
  if (!match) throw new EdgetuneError('internal', `wrangler printed no upload size: ${output.slice(-800)}`);
  return {
    dir: outDir,
    modules,
    bytes: all.byteLength,
    gzipBytes: gzipSync(all).byteLength,
    reported: { bytes: Number(match[1]) * KIB, gzipBytes: Number(match[2]) * KIB },
  };
}
