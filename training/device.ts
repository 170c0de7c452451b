import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { EdgetuneError } from '../shared/errors.ts';

export type DeviceRequest = 'auto' | 'cpu' | 'cuda';
export const DEVICE_REQUESTS: readonly DeviceRequest[] = ['auto', 'cpu', 'cuda'];

export interface DeviceChoice {
  requested: DeviceRequest;
  device: 'cpu' | 'cuda';
  /** For `InferenceSession.create(..., { executionProviders })`: CUDA first, CPU as fallback. */
  executionProviders: ('cuda' | 'cpu')[];
  /** One line for the log: what was picked and why. */
  reason: string;
  /** @tensorflow/tfjs-node-gpu is installed (optional accelerator for the tfjs part). */
  tfjsNodeGpu: boolean;
}

export const CUDA_PROVIDER_LIB = 'libonnxruntime_providers_cuda.so';

const require = createRequire(import.meta.url);

/**
 * Where onnxruntime-node keeps its native libraries for this platform. The CUDA execution
 * provider is a separate shared library there that the npm install only downloads when asked
 * (`ONNXRUNTIME_NODE_INSTALL=cuda12`, as infra/Dockerfile.train does); the CPU build ships in the
 * tarball. Its presence is therefore the test for "CUDA EP available".
 */
export function ortBinaryDir(): string {
  const pkg = path.dirname(require.resolve('onnxruntime-node/package.json'));
  return path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
}

function isInstalled(pkg: string): boolean {
  try {
    require.resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

export interface ResolveDeviceOptions {
  /** Override the ORT binary folder (tests). */
  binDir?: string;
  log?: (message: string) => void;
}

/**
 * `auto`: CUDA when onnxruntime-node's CUDA provider library is present, else CPU (logged).
 * `cuda`: CUDA or a clear error. `cpu`: CPU. Whether a GPU is actually visible is only known when
 * a session is created; the CPU provider stays in the list so ORT falls back per node then.
 */
export function resolveDevice(requested: DeviceRequest, options: ResolveDeviceOptions = {}): DeviceChoice {
  if (!DEVICE_REQUESTS.includes(requested)) {
    throw new EdgetuneError(
      'bad_request',
      `--device must be auto, cpu or cuda, got ${JSON.stringify(requested)}`,
    );
  }
  const binDir = options.binDir ?? ortBinaryDir();
  const cudaLib = path.join(binDir, CUDA_PROVIDER_LIB);
  const hasCuda = existsSync(cudaLib);
  const tfjsNodeGpu = isInstalled('@tensorflow/tfjs-node-gpu');
  let choice: DeviceChoice;
  if (requested === 'cpu') {
    choice = {
      requested,
      device: 'cpu',
      executionProviders: ['cpu'],
      reason: 'cpu (requested)',
      tfjsNodeGpu,
    };
  } else if (hasCuda) {
    choice = {
      requested,
      device: 'cuda',
      executionProviders: ['cuda', 'cpu'],
      reason: `cuda: onnxruntime-node CUDA execution provider found at ${cudaLib}${tfjsNodeGpu ? '; tfjs-node-gpu installed' : ''}`,
      tfjsNodeGpu,
    };
  } else if (requested === 'cuda') {
    throw new EdgetuneError(
      'unsupported',
      `--device cuda: onnxruntime-node's CUDA execution provider is not installed (${cudaLib} is missing). Reinstall with ONNXRUNTIME_NODE_INSTALL=cuda12 (see infra/Dockerfile.train) or use --device auto|cpu`,
    );
  } else {
    choice = {
      requested,
      device: 'cpu',
      executionProviders: ['cpu'],
      reason: `cpu: no CUDA execution provider (${CUDA_PROVIDER_LIB} not in ${binDir}); falling back to CPU`,
      tfjsNodeGpu,
    };
  }
  options.log?.(`device: ${choice.reason}`);
  return choice;
}
