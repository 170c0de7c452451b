/**
 * The kernel instance accounting of shared/engine/spare-kernels.ts: what the Worker reports at
 * GET /admin/cache and the load test holds the isolate's live wasm memories to. Every instance a
 * session took is either still in use, kept as the (one) spare, or dropped; only the first two
 * stay referenced.
 */
import { describe, expect, it } from 'vitest';
import { loadKernelModules } from '../../../kernels/node-kernels.ts';
import { createEngineSession } from '../../../shared/engine/index.ts';
import {
  giveBackKernels,
  type KernelInstanceCounts,
  kernelInstanceCounts,
  prepareSpareKernels,
  takeKernels,
} from '../../../shared/engine/spare-kernels.ts';
import { warmUpGraph } from '../../../shared/engine/warmup.ts';

const kernels = loadKernelModules();

/** What changed in the counts while `f` ran (inUse and spares as they are afterwards). */
function delta(f: () => void): KernelInstanceCounts {
  const a = kernelInstanceCounts();
  f();
  const b = kernelInstanceCounts();
  return {
    instantiated: b.instantiated - a.instantiated,
    reused: b.reused - a.reused,
    kept: b.kept - a.kept,
    dropped: b.dropped - a.dropped,
    inUse: b.inUse - a.inUse,
    spares: b.spares,
  };
}

/** Takes the spare if there is one (and never gives it back), so a test starts from none. */
function clearSpare(): void {
  if (kernelInstanceCounts().spares > 0) takeKernels(kernels);
  expect(kernelInstanceCounts().spares).toBe(0);
}

describe('kernel instance accounting', () => {
  it('counts fresh and reused instances, the spare kept and the instances dropped', () => {
    clearSpare();
    let a!: ReturnType<typeof takeKernels>;
    let b!: ReturnType<typeof takeKernels>;
    expect(
      delta(() => {
        a = takeKernels(kernels);
        b = takeKernels(kernels);
      }),
    ).toEqual({ instantiated: 2, reused: 0, kept: 0, dropped: 0, inUse: 2, spares: 0 });
    // The first one back becomes the spare; the second is dropped (one spare per module kind).
    expect(delta(() => giveBackKernels(kernels, a))).toEqual({
      instantiated: 0,
      reused: 0,
      kept: 1,
      dropped: 0,
      inUse: -1,
      spares: 1,
    });
    expect(delta(() => giveBackKernels(kernels, b))).toEqual({
      instantiated: 0,
      reused: 0,
      kept: 0,
      dropped: 1,
      inUse: -1,
      spares: 1,
    });
    let c!: ReturnType<typeof takeKernels>;
    expect(delta(() => (c = takeKernels(kernels)))).toEqual({
      instantiated: 0,
      reused: 1,
      kept: 0,
      dropped: 0,
      inUse: 1,
      spares: 0,
    });
    expect(c.exports.memory).toBe(a.exports.memory);
    giveBackKernels(kernels, c);
  });

  it('drops a released instance whose memory is too large to keep, and counts the prepared spare', () => {
    clearSpare();
    const big = takeKernels(kernels);
    big.exports.memory.grow(17 * 16); // 17 MiB more: past SPARE_MAX_BYTES
    expect(delta(() => giveBackKernels(kernels, big)).dropped).toBe(1);
    expect(kernelInstanceCounts().spares).toBe(0);
    expect(delta(() => prepareSpareKernels(kernels, 1 << 20)).spares).toBe(1);
    // Preparing again grows the same spare: still one.
    expect(delta(() => prepareSpareKernels(kernels, 2 << 20)).spares).toBe(1);
  });

  it('a session holds one instance until it is released, then gives it back', async () => {
    clearSpare();
    const before = kernelInstanceCounts();
    const session = await createEngineSession(warmUpGraph(false), kernels);
    expect(kernelInstanceCounts().inUse).toBe(before.inUse + 1);
    session.release();
    session.release(); // a second release gives nothing back twice
    const after = kernelInstanceCounts();
    expect(after.inUse).toBe(before.inUse);
    expect(after.kept).toBe(before.kept + 1);
    expect(after.spares).toBe(1);
  });
});
