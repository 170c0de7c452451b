/** Backend selection: auto picks tfjs-node when installed, else wasm (with the training kernels). */
import { createRequire } from 'node:module';
import { getKernel } from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { EdgetuneError } from '../../../shared/errors.ts';
import { type BackendRequest, initTf } from '../../../training/tf/backend.ts';

function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

const hasNode = installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu');

describe('initTf', () => {
  it('auto chooses tfjs-node if installed, else wasm, logs it, and is idempotent', async () => {
    const logs: string[] = [];
    const a = await initTf({ log: (m) => logs.push(m) });
    expect(a.name).toBe(hasNode ? 'tensorflow' : 'wasm');
    expect(a.tf.getBackend()).toBe(a.name);
    expect(logs.join('\n')).toContain(`tfjs backend: ${a.name}`);
    const b = await initTf({ log: (m) => logs.push(m) });
    expect(b).toBe(a);
    expect(logs.filter((m) => m.startsWith(`tfjs backend: ${a.name}`))).toHaveLength(1);
  });

  it('wasm has the gradient kernels and computes; cpu can be chosen and switched back', async () => {
    const w = await initTf({ backend: 'wasm' });
    expect(w.name).toBe('wasm');
    for (const k of [
      'Conv2DBackpropFilter',
      'DepthwiseConv2dNativeBackpropFilter',
      'DepthwiseConv2dNativeBackpropInput',
    ]) {
      expect(getKernel(k, 'wasm')).toBeDefined();
    }
    expect(Array.from(w.tf.tensor1d([1, 2, 3]).mul(2).dataSync())).toEqual([2, 4, 6]);
    const c = await initTf({ backend: 'cpu' });
    expect(c.name).toBe('cpu');
    expect(c.tf.getBackend()).toBe('cpu');
    await initTf({ backend: 'wasm' });
    expect(w.tf.getBackend()).toBe('wasm');
  });

  it.skipIf(hasNode)('node fails clearly when tfjs-node is not installed', async () => {
    await expect(initTf({ backend: 'node' })).rejects.toThrow(/tfjs-node/);
    await expect(initTf({ backend: 'gpu' as BackendRequest })).rejects.toBeInstanceOf(EdgetuneError);
  });
});
