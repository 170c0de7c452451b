/**
 * onnxruntime-web's wasm backend inside workerd.
 *
 * Workers forbid compiling WebAssembly from bytes at run time, but a `.wasm` file imported as a
 * module arrives precompiled. onnxruntime-web 1.30 only accepts bytes (`env.wasm.wasmBinary`), so we
 * hand it a small recognisable dummy and intercept the one `WebAssembly.instantiate` call that
 * carries exactly those bytes, instantiating the imported module instead. Everything else passes
 * through untouched. The import path is relative because wrangler resolves `.wasm` imports
 * relative to the importing file.
 */
import * as ort from 'onnxruntime-web/wasm';
import ortWasm from '../../node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm';

const MARKER = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x65, 0x64, 0x67, 0x65]); // "\0asm" + "edge"

function isMarker(source: unknown): boolean {
  if (!(source instanceof Uint8Array || source instanceof ArrayBuffer)) return false;
  const bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
  if (bytes.byteLength !== MARKER.byteLength) return false;
  for (let i = 0; i < MARKER.length; i++) if (bytes[i] !== MARKER[i]) return false;
  return true;
}

let ready: Promise<typeof ort> | undefined;

/** Configures onnxruntime-web once per isolate and returns its namespace. */
export function getOrt(): Promise<typeof ort> {
  ready ??= (async () => {
    const original = WebAssembly.instantiate.bind(WebAssembly) as (
      source: unknown,
      imports?: WebAssembly.Imports,
    ) => Promise<unknown>;
    const patched = (source: unknown, imports?: WebAssembly.Imports): Promise<unknown> => {
      if (isMarker(source)) {
        return WebAssembly.instantiate(ortWasm, imports).then((instance) => ({ instance, module: ortWasm }));
      }
      return original(source, imports);
    };
    // Only the bytes-form call with our marker is redirected; Module-form calls use `original`.
    (WebAssembly as { instantiate: unknown }).instantiate = (
      source: unknown,
      imports?: WebAssembly.Imports,
    ) => (source instanceof WebAssembly.Module ? original(source, imports) : patched(source, imports));
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.wasm.simd = true;
    ort.env.wasm.wasmBinary = MARKER;
    ort.env.logLevel = 'error';
    return ort;
  })();
  return ready;
}

export type OrtSession = ort.InferenceSession;
export type OrtTensor = ort.Tensor;
