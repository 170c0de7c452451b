/**
 * Run by engine.test.ts in a child `node --experimental-wasm-relaxed-simd`: the relaxed-SIMD
 * kernels only validate with that flag on Node 20. Prints the variant and outputs as JSON.
 */
import { loadKernelModules } from '../../../kernels/node-kernels.ts';
import { createEngineSession } from '../../../shared/engine/index.ts';
import { mobileNetV2WithHead, seededInput } from '../../../shared/onnx/zoo/mobilenetv2.ts';

const [seed, resolution, inputSeed] = process.argv.slice(2).map(Number) as [number, number, number];
const model = mobileNetV2WithHead({ seed, resolution });
const session = await createEngineSession(model, loadKernelModules());
const x = seededInput(inputSeed, 3 * resolution * resolution);
const out = session.runSync({ input: { data: x, dims: [1, 3, resolution, resolution] } });
process.stdout.write(
  JSON.stringify({
    variant: session.variant,
    probabilities: Array.from(out.probabilities!.data),
    features: Array.from(out.features!.data),
  }),
);
