import webpFactory, { type WebPModule } from '@jsquash/webp/codec/dec/webp_dec.js';
import { EdgetuneError } from '../errors.ts';
import { installJpegModule } from './jpeg/wasm.ts';
import { installResizeModule } from './resize-wasm.ts';

/**
 * The WebAssembly codecs preprocessing uses, supplied by the host as precompiled modules: workerd
 * imports the `.wasm` file (run-time compilation is forbidden there), Node compiles the same file
 * (training/images/node-codecs.ts). Same bytes, same instance code: the same pixels.
 */
export interface CodecModules {
  /** libwebp's decoder, from @jsquash/webp (codec/dec/webp_dec.wasm). */
  webp: WebAssembly.Module;
  /** edgetune's JPEG decoder kernels (shared/preprocess/jpeg/jpeg.wasm, built from codecs/jpeg/). */
  jpeg: WebAssembly.Module;
  /** edgetune's triangle resize kernels (shared/preprocess/resize-triangle.wasm, built from codecs/resize/). */
  resize: WebAssembly.Module;
}

let webp: WebPModule | undefined;
let installing: Promise<void> | undefined;

/**
 * Instantiates the codecs once per isolate/process (single-flight). Decoding stays synchronous
 * afterwards, so training and serving keep one synchronous decode path.
 */
export function installCodecs(modules: CodecModules): Promise<void> {
  installing ??= (async () => {
    installJpegModule(modules.jpeg);
    installResizeModule(modules.resize);
    webp = await webpFactory({
      noInitialRun: true,
      // Emscripten's hook for supplying the instance ourselves: never compiles bytes.
      instantiateWasm: (imports: WebAssembly.Imports, done: (i: WebAssembly.Instance) => void) => {
        const instance = new WebAssembly.Instance(modules.webp, imports);
        done(instance);
        return instance.exports;
      },
    } as Partial<WebPModule>);
  })();
  return installing;
}

export function webpDecoder(): WebPModule {
  if (!webp) {
    throw new EdgetuneError(
      'internal',
      'the WebP decoder is not installed: call installCodecs() at start-up',
    );
  }
  return webp;
}
