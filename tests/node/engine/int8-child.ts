/**
 * Run by int8.test.ts in a child `node --experimental-wasm-relaxed-simd`: the relaxed-SIMD
 * kernels only validate with that flag on Node 20. Prints the int8 cases' outputs as JSON.
 */
import { loadKernelModules } from '../../../kernels/node-kernels.ts';
import { runInt8Cases } from './int8-run.ts';

process.stdout.write(JSON.stringify(await runInt8Cases(loadKernelModules())));
