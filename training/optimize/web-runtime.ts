/**
 * onnxruntime-web (wasm backend) inside Node, configured like the edge: one thread, no proxy
 * worker. While it initialises, the one `WebAssembly.instantiate` it issues is observed so that
 * the size of its linear memory can be read later: onnxruntime-web does not expose its module, and
 * the heap is what the 128 MB per-isolate limit of Workers applies to.
 */
import type * as OrtWeb from 'onnxruntime-web';
import { GraphBuilder } from '../../shared/onnx/builder.ts';

export type OrtWebModule = typeof OrtWeb;

let ready: Promise<OrtWebModule> | undefined;
const memories: WebAssembly.Memory[] = [];

function collectMemories(...objects: unknown[]): void {
  for (const o of objects) {
    if (!o || typeof o !== 'object') continue;
    for (const v of Object.values(o)) {
      if (v instanceof WebAssembly.Memory && !memories.includes(v)) memories.push(v);
      // Import objects nest one level: { a: { memory, ... } }.
      else if (v && typeof v === 'object' && !(v instanceof WebAssembly.Module)) {
        for (const w of Object.values(v))
          if (w instanceof WebAssembly.Memory && !memories.includes(w)) memories.push(w);
      }
    }
  }
}

/** onnxruntime-web with numThreads 1 (as in workerd), loaded once per process. */
export function getOrtWeb(): Promise<OrtWebModule> {
  ready ??= (async () => {
    type Instantiate = (source: unknown, imports?: WebAssembly.Imports) => Promise<unknown>;
    const original = WebAssembly.instantiate.bind(WebAssembly) as Instantiate;
    const observing: Instantiate = async (source, imports) => {
      const result = await original(source, imports);
      const instance =
        result instanceof WebAssembly.Instance
          ? result
          : (result as { instance: WebAssembly.Instance }).instance;
      collectMemories(imports, instance?.exports);
      return result;
    };
    (WebAssembly as { instantiate: unknown }).instantiate = observing;
    try {
      const ort = await import('onnxruntime-web');
      ort.env.wasm.numThreads = 1;
      ort.env.wasm.proxy = false;
      ort.env.logLevel = 'error';
      // Initialise the backend now (a throwaway session is the only public way), so the
      // instantiate call happens while it is observed.
      await ort.InferenceSession.create(identityModel(), { executionProviders: ['wasm'] }).then((s) =>
        s.release(),
      );
      return ort;
    } finally {
      (WebAssembly as { instantiate: unknown }).instantiate = original;
    }
  })();
  return ready;
}

/** Current size of onnxruntime-web's wasm linear memory in bytes (0 before it is loaded). */
export function ortWebHeapBytes(): number {
  return memories.reduce((sum, m) => sum + m.buffer.byteLength, 0);
}

/** The smallest model there is (Y = Identity(X)), to initialise the backend. */
function identityModel(): Uint8Array {
  const g = new GraphBuilder({ name: 'init', opset: 13 });
  g.input('x', [1]);
  g.node('Identity', ['x'], ['y']);
  g.output('y', [1]);
  return g.toBytes();
}
