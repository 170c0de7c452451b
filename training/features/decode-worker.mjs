// Worker-thread entry of the decode pool: loaders registered on the main thread do not reach
// worker threads, so tsx is registered here before the TypeScript worker body is imported.
import { register } from 'tsx/esm/api';

register();
await import('./decode-worker.ts');
