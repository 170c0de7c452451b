import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Also: the images install with `npm ci --omit=dev`, so what the CLI loads at start-up (its
 * static, non-type imports) must not need a development dependency — a static import of the
 * local edge (miniflare) once made every command of the image fail before it ran.
 *
 * The training images copy the repository folder by folder (no `COPY . .`, to keep tests,
 * functions/ and the bench out of them), so a folder the CLI comes to import from must be in
 * that list, or the job fails at its first import inside the cluster and nowhere else. This walks
 * the CLI's module graph from bin/edgetune.mjs — static and dynamic imports and
 * `new URL('…', import.meta.url)` assets, relative specifiers only — and checks that every
 * top-level folder it reaches is copied by both Dockerfiles.
 */
const root = path.resolve(import.meta.dirname, '../../..');
const relativeSpecifier = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|new URL\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

const staticImport = /^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm;

/**
 * Walks the module graph from `entry` along the specifiers `pattern` captures; relative ones that
 * resolve to a file are followed, bare ones collected. Returns the files reached and the packages.
 */
function walk(entry: string, pattern: RegExp): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    if (!/\.(ts|mts|mjs|js)$/.test(file)) continue;
    for (const match of readFileSync(file, 'utf8').matchAll(pattern)) {
      const spec = match[1]!;
      if (spec.startsWith('.')) {
        const target = path.resolve(path.dirname(file), spec);
        if (existsSync(target)) queue.push(target);
        else if (existsSync(`${target}.ts`)) queue.push(`${target}.ts`);
      } else if (!spec.startsWith('node:')) {
        const parts = spec.split('/');
        packages.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
      }
    }
  }
  return { files, packages };
}

function copiedFolders(dockerfile: string): Set<string> {
  const text = readFileSync(path.join(root, dockerfile), 'utf8');
  const copied = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^COPY\s+(?!--from)(.+)$/.exec(line.trim());
    if (!m) continue;
    const sources = m[1]!.split(/\s+/).slice(0, -1);
    for (const source of sources) copied.add(source.replace(/^\.\//, '').split('/')[0]!);
  }
  return copied;
}

describe('training images', () => {
  const folders = new Set(
    [...walk(path.join(root, 'bin/edgetune.mjs'), relativeSpecifier).files].map(
      (file) => path.relative(root, file).split(path.sep)[0]!,
    ),
  );

  it('the walk reaches the CLI and the engine kernels it builds artifacts with', () => {
    expect(folders).toContain('training');
    expect(folders).toContain('shared');
    expect(folders).toContain('kernels');
  });

  it('the CLI starts without development dependencies (the images install with --omit=dev)', () => {
    const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const { packages } = walk(path.join(root, 'training/cli/main.ts'), staticImport);
    expect(packages).toContain('commander');
    const devOnly = [...packages].filter(
      (p) => p in manifest.devDependencies && !(p in manifest.dependencies),
    );
    expect(devOnly).toEqual([]);
  });

  for (const dockerfile of ['infra/Dockerfile.train', 'infra/Dockerfile.train-cpu']) {
    it(`${dockerfile} copies every folder the CLI imports from`, () => {
      const copied = copiedFolders(dockerfile);
      const missing = [...folders].filter((folder) => !copied.has(folder));
      expect(missing).toEqual([]);
    });
  }
});
