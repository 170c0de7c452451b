import { type CodecModules, installCodecs } from '../../shared/preprocess/codecs.ts';
// Imported as a precompiled module (wrangler's CompiledWasm rule; path relative to this file):
// workerd forbids compiling wasm from bytes at run time.
import webpDecoder from '../../node_modules/@jsquash/webp/codec/dec/webp_dec.wasm';
import jpegKernels from '../../shared/preprocess/jpeg/jpeg.wasm';
import resizeKernels from '../../shared/preprocess/resize-triangle.wasm';

export function codecModules(): CodecModules {
  return { webp: webpDecoder, jpeg: jpegKernels, resize: resizeKernels };
}

/** Instantiates the image codecs once per isolate, on first use (not at global scope). */
export function ensureCodecs(): Promise<void> {
  return installCodecs(codecModules());
}
