/**
 * Run by requant-round.test.ts in a child `node --experimental-wasm-relaxed-simd`: the relaxed-SIMD
 * kernels only validate with that flag on Node 20. Prints the rounding check's result as JSON.
 */
import { loadKernelModules } from '../../../kernels/node-kernels.ts';
import { runRoundingCheck } from './requant-round-run.ts';

process.stdout.write(JSON.stringify(runRoundingCheck(loadKernelModules())));
