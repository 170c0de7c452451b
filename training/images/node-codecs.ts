/**
 * Node host for the preprocessing codecs: compiles the same `.wasm` files the Worker imports as
 * precompiled modules (functions/runtime/codecs.ts), so training and serving decode with the same code.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type CodecModules, installCodecs } from '../../shared/preprocess/codecs.ts';

const require = createRequire(import.meta.url);

export function nodeCodecModules(): CodecModules {
  const webp = readFileSync(require.resolve('@jsquash/webp/codec/dec/webp_dec.wasm'));
  const jpeg = readFileSync(new URL('../../shared/preprocess/jpeg/jpeg.wasm', import.meta.url));
  const resize = readFileSync(new URL('../../shared/preprocess/resize-triangle.wasm', import.meta.url));
  return {
    webp: new WebAssembly.Module(webp),
    jpeg: new WebAssembly.Module(jpeg),
    resize: new WebAssembly.Module(resize),
  };
}

let installed: Promise<void> | undefined;

/** Idempotent: call before decoding in any Node entry point (datasets, feedback, tests). */
export function installNodeCodecs(): Promise<void> {
  installed ??= installCodecs(nodeCodecModules());
  return installed;
}
