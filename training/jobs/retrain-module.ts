import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { EdgetuneError } from '../../shared/errors.ts';
import { defaultRetrain } from './default-retrain.ts';
import type { RetrainFunction } from './types.ts';

/**
 * The retrain step the CLI worker runs: the module given with `--retrain <file>` (it exports
 * `retrain` or a default function), else the training pipeline's (default-retrain.ts). Resolved
 * before any job is claimed, so a worker without a pipeline never takes a job it cannot run.
 */
export async function loadRetrain(modulePath?: string): Promise<RetrainFunction> {
  if (modulePath) {
    const url = pathToFileURL(path.resolve(modulePath)).href;
    let mod: Record<string, unknown>;
    try {
      mod = (await import(url)) as Record<string, unknown>;
    } catch (e) {
      throw new EdgetuneError(
        'bad_request',
        `--retrain ${modulePath}: cannot load the module: ${(e as Error).message}`,
      );
    }
    const fn = mod.retrain ?? mod.default;
    if (typeof fn !== 'function') {
      throw new EdgetuneError(
        'bad_request',
        `--retrain ${modulePath}: the module exports no "retrain" (or default) function`,
      );
    }
    return fn as RetrainFunction;
  }
  if (!defaultRetrain) {
    throw new EdgetuneError(
      'unsupported',
      'no retrain step is wired into the worker yet (training/jobs/default-retrain.ts); pass --retrain <module>',
    );
  }
  return defaultRetrain;
}
