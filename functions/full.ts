/**
 * Full Worker entry (`[env.full]` in wrangler.toml): the engine plus onnxruntime-web for versions
 * the engine cannot run. About 3.9 MB gzip, so it needs the Workers Paid plan (10 MB).
 */
import { FULL_BACKENDS } from './runtime/ort-backend.ts';
import { createWorker } from './worker.ts';

export default createWorker(FULL_BACKENDS);
