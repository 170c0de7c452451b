import { EdgetuneError } from '../errors.ts';

/**
 * Compiles a committed codec module (`file`: a URL the caller builds from its own
 * `import.meta.url`) for Node entry points that never call installCodecs (scripts, tests). This
 * needs Node's fs, which shared code may not import, so it is reached through
 * `process.getBuiltinModule`; workerd has neither and always installs the imported module first.
 */
export function compileCommittedModule(file: URL, what: string): WebAssembly.Module {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const fs = proc?.getBuiltinModule?.('fs') as
    | { readFileSync(path: URL): Uint8Array<ArrayBuffer> }
    | undefined;
  if (!fs) throw new EdgetuneError('internal', `${what} not installed: call installCodecs() at start-up`);
  return new WebAssembly.Module(fs.readFileSync(file));
}
