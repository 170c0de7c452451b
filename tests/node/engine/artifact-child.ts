/**
 * Run by artifact.test.ts in a child `node --experimental-wasm-relaxed-simd` (the relaxed-SIMD
 * kernels only validate with that flag on Node 20): per case, the sha256 of the artifact the
 * relaxed module's session stores and whether its artifact round trip is bit-exact. Prints JSON.
 */
import { loadKernelModules } from '../../../kernels/node-kernels.ts';
import { mobileNetQdq, roundTrip, sha256, smallCases } from './artifact-models.ts';

const kernels = loadKernelModules();
const out: { variant: string; cases: Record<string, { artifact: string; exact: boolean }> } = {
  variant: '',
  cases: {},
};
for (const c of [...smallCases(), await mobileNetQdq(loadKernelModules({ relaxed: false }))]) {
  const r = await roundTrip(c, kernels);
  out.variant = r.variant;
  out.cases[c.name] = {
    artifact: sha256(r.artifact),
    exact:
      JSON.stringify(r.fromOnnx) === JSON.stringify(r.fromArtifact) &&
      (r.fromGraph === undefined || JSON.stringify(r.fromOnnx) === JSON.stringify(r.fromGraph)) &&
      r.refused.length === 0,
  };
}
process.stdout.write(JSON.stringify(out));
