import vm from 'node:vm';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { PreprocessSpecSchema } from '../../../shared/manifest/preprocess.ts';
import * as preprocess from '../../../shared/preprocess/index.ts';
import { nodeCodecModules } from '../../../training/images/node-codecs.ts';
import { readData, repoRoot } from './fixtures.ts';

/**
 * The edge runs this code bundled for workerd: no Buffer, no process, no Node built-ins. Bundle
 * shared/preprocess the way wrangler does (esbuild, browser/worker conditions) and run it in a
 * bare V8 context that has only the web globals workerd also has, then compare every output
 * value with the Node run: training and serving must see bit-identical tensors.
 */
describe('shared/preprocess bundled for a worker, run without Node globals', () => {
  it('decodes PNG and JPEG and builds tensors bit-identically to Node', async () => {
    const bundle = await build({
      entryPoints: [`${repoRoot}shared/preprocess/index.ts`],
      bundle: true,
      write: false,
      format: 'iife',
      globalName: 'edgePreprocess',
      platform: 'browser',
      conditions: ['workerd', 'worker', 'browser'],
      logLevel: 'silent',
    });
    const code = bundle.outputFiles[0]!.text;
    expect(code).not.toMatch(/require\(["']node:/);

    const context = vm.createContext({ TextDecoder, TextEncoder });
    vm.runInContext(code, context);
    const { decodeImage, preprocessBytes, installJpegModule, installResizeModule } =
      context.edgePreprocess as typeof preprocess;
    // The JPEG kernels the Worker imports precompiled, compiled inside the context (the bare
    // context has no fs to find them by itself).
    const compile = vm.runInContext('(b) => new WebAssembly.Module(b)', context) as (
      b: Uint8Array,
    ) => WebAssembly.Module;
    installJpegModule(compile(readData('shared/preprocess/jpeg/jpeg.wasm')));
    installResizeModule(compile(readData('shared/preprocess/resize-triangle.wasm')));
    await preprocess.installCodecs(nodeCodecModules());
    const expose = vm.runInContext('(n) => new Uint8Array(n)', context) as (n: number) => Uint8Array;
    expect(vm.runInContext('typeof Buffer + typeof process + typeof require', context)).toBe(
      'undefinedundefinedundefined',
    );

    const spec = PreprocessSpecSchema.parse({
      width: 96,
      height: 64,
      channels: 3,
      layout: 'NCHW',
      mean: [0.5],
      std: [0.25],
    });
    for (const file of [
      'data/photos/hubble_deep_field.jpg',
      'data/photos/chelsea.png',
      'data/opencv-digits/digits.png',
    ]) {
      const host = readData(file);
      const inside = expose(host.length);
      inside.set(host);
      const a = decodeImage(inside);
      const b = preprocess.decodeImage(host);
      expect([a.width, a.height, a.channels]).toEqual([b.width, b.height, b.channels]);
      expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
      const ta = preprocessBytes(inside, spec).data;
      const tb = preprocess.preprocessBytes(host, spec).data;
      expect(
        Buffer.from(ta.buffer, ta.byteOffset, ta.byteLength).equals(
          Buffer.from(tb.buffer, tb.byteOffset, tb.byteLength),
        ),
      ).toBe(true);
    }
  });
});
