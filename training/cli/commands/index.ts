import type { Command } from 'commander';
import { register as registerBackbone } from './backbone.ts';
import { register as registerDemo } from './demo.ts';
import { register as registerFeatures } from './features.ts';
import { register as registerFeedback } from './feedback.ts';
import { register as registerRegistry } from './registry.ts';
import { register as registerImportModel } from './import-model.ts';
import { register as registerInspect } from './inspect.ts';
import { register as registerServe } from './serve.ts';
import { register as registerWorker } from './worker.ts';
import { register as registerJobs } from './jobs.ts';
import { register as registerPolicy } from './policy.ts';
import { register as registerPretrain } from './pretrain.ts';
import { register as registerQuantize } from './quantize.ts';
import { register as registerTrain } from './train.ts';

/**
 * Every subcommand lives in its own file and exports `register(program)`; add one line here.
 */
export function registerCommands(program: Command): void {
  void program;
  registerBackbone(program);
  registerInspect(program);
  registerImportModel(program);
  registerRegistry(program);
  registerServe(program);
  registerWorker(program);
  registerJobs(program);
  registerPolicy(program);
  registerFeedback(program);
  registerPretrain(program);
  registerTrain(program);
  registerFeatures(program);
  registerQuantize(program);
  registerDemo(program);
}
