/**
 * The project's layers, checked on every import of every source file:
 * - `shared/` runs in Node and in workerd: no `node:` built-ins, nothing from `training/`,
 *   `functions/`, `bench/` or `tests/`. The one exception is `shared/store/node/`, the Node
 *   adapters of the store interface (file and S3, the way Hono keeps runtime adapters beside its
 *   core): they may use Node built-ins, and nothing else in `shared/` nor anything in `functions/`
 *   may import them;
 * - `functions/` (the Worker) never imports the Node-only `training/` side or `bench/`; inside it,
 *   `functions/runtime/` (models, sessions, backends, services, cron) never imports
 *   `functions/http/` (routes, middleware, request parsing, the page), and only the Worker's entry
 *   points sit at `functions/`' top level;
 * - `local-edge/` (`edgetune serve`: the Worker in workerd on this machine, mirroring a store) is
 *   Node-side and apart from training: it imports neither `training/` nor `bench/`;
 * - `kernels/` (the kernel source, its build and the Node host of the kernel modules) and `codecs/`
 *   (AssemblyScript sources of the codecs' WebAssembly and their builds) are Node-side: neither
 *   `shared/` nor `functions/` imports them (both runtimes load the committed .wasm files);
 * - nothing outside `tests/` imports test code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SOURCE = /\.(ts|mts|js|mjs)$/;
const SKIP = new Set(['node_modules', '.git', '.edgetune', 'dist', '.wrangler', 'coverage']);

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(rel));
    else if (SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

interface Import {
  file: string;
  specifier: string;
  /** Top-level folder of the imported file for relative imports, else null. */
  layer: string | null;
}

function importsOf(file: string): Import[] {
  const info = ts.preProcessFile(readFileSync(path.join(ROOT, file), 'utf8'), true, true);
  return info.importedFiles.map(({ fileName: specifier }) => {
    if (!specifier.startsWith('.')) return { file, specifier, layer: null };
    const target = path.relative(ROOT, path.resolve(ROOT, path.dirname(file), specifier));
    return { file, specifier, layer: target.split(path.sep)[0] ?? null };
  });
}

const TOP = [
  'shared',
  'functions',
  'training',
  'local-edge',
  'bench',
  'bin',
  'kernels',
  'codecs',
  'infra',
  'tests',
];
const all = TOP.flatMap((d) => {
  try {
    return sourceFiles(d);
  } catch {
    return []; // a folder that does not exist (yet) has nothing to check
  }
}).flatMap(importsOf);
const inLayer = (layer: string) => all.filter((i) => i.file.split(path.sep)[0] === layer);
const NODE_ADAPTERS = path.join('shared', 'store', 'node') + path.sep;
const isNodeAdapter = (file: string) => file.startsWith(NODE_ADAPTERS);
/** Where a relative import lands, relative to the root (null for packages and built-ins). */
const targetOf = (i: Import) =>
  i.specifier.startsWith('.')
    ? path.relative(ROOT, path.resolve(ROOT, path.dirname(i.file), i.specifier))
    : null;
const show = (list: Import[]) => list.map((i) => `${i.file} imports ${i.specifier}`);

describe('layering', () => {
  it('reads the project (a scanner that finds nothing would pass every rule)', () => {
    expect(inLayer('shared').length).toBeGreaterThan(100);
    expect(inLayer('functions').length).toBeGreaterThan(50);
    expect(inLayer('training').length).toBeGreaterThan(100);
  });

  it('shared/ imports no Node built-ins (outside the Node adapters) and nothing from training/, functions/, bench/ or tests/', () => {
    const bad = inLayer('shared').filter(
      (i) =>
        (!isNodeAdapter(i.file) &&
          (i.specifier.startsWith('node:') || builtinModules.includes(i.specifier.split('/')[0]!))) ||
        ['training', 'local-edge', 'functions', 'bench', 'tests', 'bin'].includes(i.layer ?? ''),
    );
    expect(show(bad)).toEqual([]);
  });

  it('the Node store adapters exist and use Node (a rule about an empty folder would pass vacuously)', () => {
    const adapters = inLayer('shared').filter((i) => isNodeAdapter(i.file));
    expect(adapters.some((i) => i.specifier.startsWith('node:'))).toBe(true);
  });

  it('only Node-side code imports the Node store adapters (not the rest of shared/, not functions/)', () => {
    const bad = all.filter(
      (i) =>
        (i.file.startsWith(`shared${path.sep}`) || i.file.startsWith(`functions${path.sep}`)) &&
        !isNodeAdapter(i.file) &&
        isNodeAdapter(targetOf(i) ?? ''),
    );
    expect(show(bad)).toEqual([]);
  });

  it('the folders of shared/ depend on each other without cycles', () => {
    // shared/<folder>/...: files at shared/'s top level (errors, names) are leaves everyone uses.
    const folderOf = (file: string) => {
      const parts = file.split(path.sep);
      return parts[0] === 'shared' && parts.length > 2 ? parts[1]! : null;
    };
    const edges = new Map<string, Set<string>>();
    for (const i of inLayer('shared')) {
      const from = folderOf(i.file);
      const to = folderOf(targetOf(i) ?? '');
      if (from && to && from !== to) edges.set(from, (edges.get(from) ?? new Set()).add(to));
    }
    expect(edges.size).toBeGreaterThan(5); // the scan saw the folders' imports
    const cycles: string[] = [];
    const walk = (at: string, trail: string[]) => {
      for (const next of edges.get(at) ?? []) {
        if (next === trail[0]) cycles.push([...trail, next].join(' → '));
        else if (!trail.includes(next) && next > trail[0]!) walk(next, [...trail, next]);
      }
    };
    for (const start of edges.keys()) walk(start, [start]);
    expect(cycles).toEqual([]);
  });

  it('functions/ never imports training/ or bench/', () => {
    const bad = inLayer('functions').filter((i) =>
      ['training', 'local-edge', 'bench', 'tests'].includes(i.layer ?? ''),
    );
    expect(show(bad)).toEqual([]);
  });

  it('local-edge/ imports neither training/ nor bench/', () => {
    expect(inLayer('local-edge').length).toBeGreaterThan(5);
    const bad = inLayer('local-edge').filter((i) => ['training', 'bench', 'tests'].includes(i.layer ?? ''));
    expect(show(bad)).toEqual([]);
  });

  it('functions/runtime/ never imports functions/http/', () => {
    const runtime = path.join('functions', 'runtime') + path.sep;
    const http = path.join('functions', 'http') + path.sep;
    const fromRuntime = inLayer('functions').filter((i) => i.file.startsWith(runtime));
    expect(fromRuntime.length).toBeGreaterThan(20); // the folder exists and was read
    expect(inLayer('functions').filter((i) => i.file.startsWith(http)).length).toBeGreaterThan(20);
    const bad = fromRuntime.filter((i) => (targetOf(i) ?? '').startsWith(http));
    expect(show(bad)).toEqual([]);
  });

  it("functions/' top level holds only the Worker's entry points", () => {
    const top = readdirSync(path.join(ROOT, 'functions'), { withFileTypes: true })
      .filter((e) => e.isFile() && SOURCE.test(e.name))
      .map((e) => e.name)
      .sort();
    expect(top).toEqual(['full.ts', 'index.ts', 'worker.ts']);
  });

  it('neither shared/ nor functions/ imports kernels/ or codecs/ (wasm sources and their builds)', () => {
    expect(inLayer('kernels').length).toBeGreaterThan(0);
    expect(inLayer('codecs').length).toBeGreaterThan(0);
    const bad = [...inLayer('shared'), ...inLayer('functions')].filter(
      (i) => i.layer === 'kernels' || i.layer === 'codecs',
    );
    expect(show(bad)).toEqual([]);
  });

  it('nothing outside tests/ imports tests/', () => {
    const bad = all.filter((i) => i.file.split(path.sep)[0] !== 'tests' && i.layer === 'tests');
    expect(show(bad)).toEqual([]);
  });
});
