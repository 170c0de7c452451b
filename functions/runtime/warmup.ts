/**
 * The start-up warm-ups at the Worker's global scope: the engine's (shared/engine/warmup.ts),
 * image preprocessing's (shared/preprocess/warmup.ts) and the request's parsing
 * (warmup-parsing.ts), so the first request to a fresh isolate meets compiled JS, optimised
 * kernels and codecs. They must never keep the Worker from starting:
 * a failure is logged and the first request simply pays for cold code, as it would without them.
 */
import type { Hono } from 'hono';
import { warmUpEngine } from '../../shared/engine/warmup.ts';
import { errorMessage } from '../../shared/errors.ts';
import { warmUpPreprocessing } from '../../shared/preprocess/warmup.ts';
import { kernelModules } from './backends.ts';
import { ensureCodecs } from './codecs.ts';
import type { AppEnv } from './env.ts';
import { warmUpParsing } from './warmup-parsing.ts';

export function warmUpAtStartup(app: Hono<AppEnv>): void {
  try {
    warmUpParsing(app);
  } catch (e) {
    console.warn(`parsing warm-up skipped: ${errorMessage(e)}`);
  }
  try {
    warmUpEngine(kernelModules());
  } catch (e) {
    console.warn(`engine warm-up skipped: ${errorMessage(e)}`);
  }
  void warmUpCodecs();
}

/**
 * Installs the codecs now rather than on the first image request. The JPEG and resize kernels are
 * installed synchronously (installCodecs' first step), so PNG and JPEG are warmed at once; the
 * WebP decoder's factory resolves a promise, so WebP is warmed when it does, and a request only
 * waits for that promise (ensureCodecs) if it arrives first. The returned promise settles once
 * the WebP warm-up has run (or failed, logged); it never rejects.
 */
export function warmUpCodecs(): Promise<void> {
  const warn = (e: unknown) => console.warn(`codec warm-up skipped: ${errorMessage(e)}`);
  const webp = ensureCodecs()
    .then(() => warmUpPreprocessing(['webp']))
    .catch(warn);
  try {
    warmUpPreprocessing(['png', 'jpeg']);
  } catch (e) {
    warn(e);
  }
  return webp;
}
