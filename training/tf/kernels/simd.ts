/**
 * The SIMD kernels of kernels/training-kernels.wat, instantiated on tfjs-backend-wasm's own
 * WebAssembly.Memory so they read and write tensors in place (no copies in or out of the heap).
 * The module is committed prebuilt (`npm run build:engine` assembles it; a test checks the bytes)
 * so loading it is synchronous, as kernel functions are. Returns null when the backend's memory is
 * not reachable (another tfjs-wasm build): callers then run the shipped kernel.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo } from './wasm-ops.ts';

/** Pointers and strides in bytes (see the .wat for what each computes). */
export interface TrainingKernels {
  copy2d(src: number, srs: number, scs: number, dst: number, drs: number, rows: number, cols: number): void;
  gemm(l: number, r: number, out: number, rows: number, cols: number, k: number): void;
  sumRows(x: number, out: number, rows: number, cols: number, div: number): void;
}

const WASM_PATH = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'kernels',
  'training-kernels.wasm',
);
let compiled: WebAssembly.Module | undefined;
const instances = new WeakMap<WebAssembly.Memory, TrainingKernels>();

/** The parts of tfjs-wasm's Emscripten module used here (its typings leave them out). */
interface EmscriptenHeap {
  asm?: { memory?: unknown };
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}

const emscripten = (backend: BackendWasm): EmscriptenHeap => backend.wasm as unknown as EmscriptenHeap;

function heapMemory(backend: BackendWasm): WebAssembly.Memory | null {
  // Emscripten keeps the instance's exports as Module.asm; its memory is the tensors' heap.
  const asm = emscripten(backend).asm;
  return asm?.memory instanceof WebAssembly.Memory ? asm.memory : null;
}

export function trainingKernels(backend: BackendWasm): TrainingKernels | null {
  const memory = heapMemory(backend);
  if (memory === null) return null;
  let kernels = instances.get(memory);
  if (kernels === undefined) {
    compiled ??= new WebAssembly.Module(readFileSync(WASM_PATH));
    kernels = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as TrainingKernels;
    instances.set(memory, kernels);
  }
  return kernels;
}

/** Byte offset of a tensor's data in the heap. */
export function heapOffset(backend: BackendWasm, info: TensorInfo): number {
  return backend.getMemoryOffset(info.dataId);
}

/** Runs `use` with `bytes` of scratch heap (freed after, also on throw). */
export function withScratch<T>(backend: BackendWasm, bytes: number, use: (ptr: number) => T): T {
  if (bytes === 0) return use(0);
  const ptr = emscripten(backend)._malloc(bytes) >>> 0;
  try {
    return use(ptr);
  } finally {
    emscripten(backend)._free(ptr);
  }
}
