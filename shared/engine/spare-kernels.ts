/**
 * Kernel instances whose wasm memory is already mapped in, kept for the next session.
 *
 * A fresh instance's linear memory is reserved but not yet backed: the first write to each 4 KiB
 * page takes a page fault that the OS answers with a zeroed page. On the bench machine (a VM)
 * that first touch is far from free — in Node 20, filling a fresh 16 MB kernel memory took
 * 160–370 ms at load 16 where filling it again took under 1.5 ms — and a cold session touches
 * every page of its weights and activation arena once (bench/worker/cold.ts times it as
 * `memory_first_touch`). So the Worker's start-up touches one instance's
 * memory ahead of time (prepareSpareKernels), the first session takes it, and a released
 * session's instance is zeroed and kept for the next one (while small enough), instead of each
 * session paying the faults again on a new memory.
 *
 * A reused memory is zeroed before it is handed out, so a session cannot tell it from a fresh
 * one (the kernels have no data segments or globals: the memory is all their state).
 */
import { instantiateKernelsSync, type KernelModules, type Kernels } from './kernels.ts';

/** Memory the Worker's start-up prepares: the int8 reference MobileNetV2 session needs 4.8 MB. */
export const SPARE_BYTES = 8 << 20;
/** A released instance with more memory than this is dropped (it would sit outside the cache budget). */
export const SPARE_MAX_BYTES = 16 << 20;

const PAGE = 65536;

/** At most one spare instance per preferred module (what a session of these modules would get). */
const spares = new WeakMap<WebAssembly.Module, Kernels>();

/**
 * What became of the kernel instances sessions took and gave back in this isolate. Every instance
 * still referenced is either in use by a session or a spare; one that was dropped is garbage.
 * So after a garbage collection the isolate holds exactly `inUse + spares` kernel memories:
 * the exact accounting the load test holds the Worker to (GET /admin/cache shows these).
 */
export interface KernelInstanceCounts {
  /** Fresh instances made for sessions (no spare was ready). */
  instantiated: number;
  /** Sessions that got the spare instead. */
  reused: number;
  /** Released sessions' instances kept as the spare. */
  kept: number;
  /** Released sessions' instances let go (a spare was already kept, or the memory is too large). */
  dropped: number;
  /** Instances sessions hold now. */
  inUse: number;
  /** Spare instances held now (at most one per module kind). */
  spares: number;
}

const counts: KernelInstanceCounts = { instantiated: 0, reused: 0, kept: 0, dropped: 0, inUse: 0, spares: 0 };

/** A copy of the counts so far. */
export function kernelInstanceCounts(): KernelInstanceCounts {
  return { ...counts };
}
const keyOf = (modules: KernelModules): WebAssembly.Module => modules.relaxed ?? modules.simd;

/** A spare instance of `modules` (zeroed), or a fresh one. */
export function takeKernels(modules: KernelModules): Kernels {
  const key = keyOf(modules);
  const spare = spares.get(key);
  if (spare) {
    spares.delete(key);
    counts.spares--;
    counts.reused++;
    counts.inUse++;
    return spare;
  }
  const kernels = instantiateKernelsSync(modules);
  counts.instantiated++;
  counts.inUse++;
  return kernels;
}

/**
 * Keeps `kernels` (no longer used by anyone) as the spare of `modules` when there is none yet
 * and its memory is at most SPARE_MAX_BYTES; it is zeroed now, while its pages are mapped.
 */
export function giveBackKernels(modules: KernelModules, kernels: Kernels): void {
  const key = keyOf(modules);
  const mem = kernels.exports.memory;
  counts.inUse--;
  if (spares.has(key) || mem.buffer.byteLength > SPARE_MAX_BYTES) {
    counts.dropped++;
    return;
  }
  new Uint8Array(mem.buffer).fill(0);
  spares.set(key, kernels);
  counts.spares++;
  counts.kept++;
}

/**
 * Makes sure a spare instance with at least `bytes` of touched, zeroed memory is ready:
 * start-up work (synchronous, no I/O), so the first session does not pay for the page faults.
 */
export function prepareSpareKernels(modules: KernelModules, bytes = SPARE_BYTES, from?: Kernels): void {
  const key = keyOf(modules);
  const spare = spares.get(key);
  const kernels = spare ?? from ?? instantiateKernelsSync(modules);
  const mem = kernels.exports.memory;
  if (mem.buffer.byteLength < bytes) mem.grow(Math.ceil((bytes - mem.buffer.byteLength) / PAGE));
  // Writing each page is what maps it in; zero is what a fresh memory holds.
  new Uint8Array(mem.buffer).fill(0);
  spares.set(key, kernels);
  if (!spare) counts.spares++;
}
