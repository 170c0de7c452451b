/**
 * Run by qdw-exact.test.ts in a child `node --experimental-wasm-relaxed-simd`: the relaxed-SIMD
 * kernels only validate with that flag on Node 20. Prints the depthwise cases' results as JSON.
 */
import { loadKernelModules } from '../../../kernels/node-kernels.ts';
import { runQdwExact } from './qdw-exact-run.ts';

process.stdout.write(JSON.stringify(runQdwExact(loadKernelModules())));
