/**
 * Default Worker entry: the engine-only build. It imports no onnxruntime-web, so the bundle fits
 * the Workers Free plan; a version only onnxruntime-web can run is answered 422
 * `needs_full_build`. The full build is functions/full.ts (`wrangler deploy --env full`).
 */
import { ENGINE_ONLY } from './runtime/backends.ts';
import { createWorker } from './worker.ts';

export default createWorker(ENGINE_ONLY);
