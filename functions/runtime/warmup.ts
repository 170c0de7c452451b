/**
 * The engine's warm-up at the Worker's global scope (shared/engine/warmup.ts says what it buys):
 * start-up work, so the first request to a fresh isolate meets compiled JS and optimised kernels.
 * It must never keep the Worker from starting: a failure is logged and the first request simply
 * pays for cold code, as it would without the warm-up.
 */
import { warmUpEngine } from '../../shared/engine/warmup.ts';
import { errorMessage } from '../../shared/errors.ts';
import { kernelModules } from './backends.ts';

export function warmUpAtStartup(): void {
  try {
    warmUpEngine(kernelModules());
  } catch (e) {
    console.warn(`engine warm-up skipped: ${errorMessage(e)}`);
  }
}
