/**
 * Picks and initialises the tfjs backend for training.
 *
 * `auto`: tfjs-node(-gpu) when it happens to be installed (it cannot be installed on the dev
 * machines — its install downloads libtensorflow — so it is an optional accelerator for GPU hosts),
 * else `wasm` (SIMD, single-threaded; ~50× faster than `cpu` once the missing gradient kernels are
 * registered), else `cpu`.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { EdgetuneError } from '../../shared/errors.ts';
import { registerWasmTrainingKernels } from './kernels/index.ts';

export type BackendRequest = 'auto' | 'node' | 'wasm' | 'cpu';
export const backendRequests: readonly BackendRequest[] = ['auto', 'node', 'wasm', 'cpu'];

export interface TfHandle {
  /** The active tfjs backend: 'tensorflow' (tfjs-node/-gpu), 'wasm' or 'cpu'. */
  name: string;
  tf: typeof tf;
}

export interface InitTfOptions {
  backend?: BackendRequest;
  /** Told which backend was chosen and why others were skipped. */
  log?: (message: string) => void;
}

const nodePackages = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;
const cache = new Map<BackendRequest, Promise<TfHandle>>();
let wasmPathsSet = false;

/**
 * Initialises tfjs once per requested backend and makes it the active one. Calling it again with
 * the same request returns the same handle (and re-activates that backend if another was chosen
 * in between).
 */
export async function initTf(options: InitTfOptions = {}): Promise<TfHandle> {
  const request = options.backend ?? 'auto';
  if (!backendRequests.includes(request)) {
    throw new EdgetuneError(
      'bad_request',
      `unknown backend '${request}' (use ${backendRequests.join(', ')})`,
    );
  }
  const log = options.log ?? (() => {});
  let pending = cache.get(request);
  if (pending === undefined) {
    pending = choose(request, log);
    cache.set(request, pending);
    pending.catch(() => cache.delete(request));
  }
  const handle = await pending;
  if (tf.getBackend() !== handle.name) await activate(handle.name);
  return handle;
}

/**
 * Makes sure a backend is ready before tensors are built (e.g. when loading a model), without
 * switching away from one a caller already chose with `initTf`.
 */
export async function ensureTf(): Promise<void> {
  if (cache.size > 0) await Promise.all(cache.values());
  else await initTf();
}

async function choose(request: BackendRequest, log: (m: string) => void): Promise<TfHandle> {
  if (request === 'node' || request === 'auto') {
    const name = await tryNode(log);
    if (name !== null) return { name, tf };
    if (request === 'node') {
      throw new EdgetuneError(
        'unsupported',
        'backend node: neither @tensorflow/tfjs-node nor -gpu is installed',
      );
    }
  }
  if (request === 'wasm' || request === 'auto') {
    try {
      await initWasm();
      log('tfjs backend: wasm (SIMD, 1 thread)');
      return { name: 'wasm', tf };
    } catch (e) {
      if (request === 'wasm') {
        throw new EdgetuneError('internal', `backend wasm failed to start: ${String(e)}`, { cause: e });
      }
      log(`tfjs backend: wasm unavailable (${String(e)}), falling back to cpu`);
    }
  }
  await activate('cpu');
  log('tfjs backend: cpu (slow: ~50× slower than wasm for conv nets)');
  return { name: 'cpu', tf };
}

/** Imports tfjs-node(-gpu) if installed; it registers the 'tensorflow' backend on import. */
async function tryNode(log: (m: string) => void): Promise<string | null> {
  for (const pkg of nodePackages) {
    try {
      // A variable specifier keeps TypeScript and bundlers from requiring the optional package.
      const specifier: string = pkg;
      await import(specifier);
    } catch {
      continue;
    }
    if (tf.findBackendFactory('tensorflow') === null) {
      // Installed against a different copy of tfjs-core: its backend is invisible to ours.
      log(`tfjs backend: ${pkg} is installed but did not register with this @tensorflow/tfjs`);
      continue;
    }
    await activate('tensorflow');
    log(`tfjs backend: tensorflow (${pkg})`);
    return 'tensorflow';
  }
  return null;
}

async function initWasm(): Promise<void> {
  if (!wasmPathsSet) {
    // In Node the Emscripten loader reads the binary from disk when given a plain directory path
    // (with usePlatformFetch=false); fetch() would reject a bare path.
    const require = createRequire(import.meta.url);
    const dir = path.join(
      path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')),
      'dist',
    );
    setWasmPaths(dir + path.sep);
    // Threads need Workers + SharedArrayBuffer plumbing that the Node build does not provide.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasmPathsSet = true;
  }
  registerWasmTrainingKernels();
  await activate('wasm');
}

async function activate(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
}
