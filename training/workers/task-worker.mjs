// Worker-thread entry of a task pool: loaders registered on the main thread do not reach worker
// threads, so tsx is registered here before the TypeScript worker body is imported.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
