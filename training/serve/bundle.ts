import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EdgetuneError } from '../../shared/errors.ts';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface WorkerBundle {
  dir: string;
  /** Main ES module first, then the precompiled wasm modules. */
  modules: { type: 'ESModule' | 'CompiledWasm'; path: string }[];
  bytes: number;
}

export interface BundleOptions {
  /** wrangler config to bundle (default: the project's wrangler.toml, i.e. functions/). */
  config?: string;
}

/**
 * Bundles a Worker exactly as `wrangler deploy` would (dry run), so the local server runs the
 * same artefact that production gets.
 */
export async function bundleWorker(outDir: string, options: BundleOptions = {}): Promise<WorkerBundle> {
  const wrangler = path.join(projectRoot, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
  const args = [wrangler, 'deploy', '--dry-run', '--outdir', outDir];
  if (options.config) args.push('--config', options.config);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, args, {
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
        ? resolve()
        : reject(new EdgetuneError('internal', `wrangler bundle failed (exit ${code}): ${text.slice(-800)}`)),
    );
  });
  const files = await readdir(outDir);
  const main = files.find((f) => f.endsWith('.js') && !f.endsWith('.map'));
  if (!main) throw new EdgetuneError('internal', `wrangler produced no script in ${outDir}`);
  const modules: WorkerBundle['modules'] = [{ type: 'ESModule', path: path.join(outDir, main) }];
  let bytes = (await stat(path.join(outDir, main))).size;
  for (const f of files.filter((name) => name.endsWith('.wasm'))) {
    modules.push({ type: 'CompiledWasm', path: path.join(outDir, f) });
    bytes += (await stat(path.join(outDir, f))).size;
  }
  return { dir: outDir, modules, bytes };
}
