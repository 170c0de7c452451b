import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { EdgetuneError, errorMessage } from '../../../shared/errors.ts';
import type { SourceListing } from '../types.ts';
import { isImageFileName, loadImageFile, sortClassNames } from './common.ts';

/** `folder:<dir>`: each subfolder is a class named after it; PNG/JPEG files directly inside it. */
export async function listFolder(dir: string, cwd: string): Promise<SourceListing> {
  const root = path.resolve(cwd, dir);
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not_found' : 'bad_request';
    throw new EdgetuneError(code, `cannot read dataset folder ${root}: ${errorMessage(e)}`, { cause: e });
  }
  const classes = sortClassNames(
    entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name),
  );
  if (classes.length === 0) {
    throw new EdgetuneError(
      'bad_request',
      `dataset folder ${root} has no subfolders: put each class's images in a subfolder named after the class`,
    );
  }
  const candidates: SourceListing['candidates'] = [];
  const ignored: string[] = [];
  for (const className of classes) {
    const files = (await readdir(path.join(root, className), { withFileTypes: true }))
      .filter((f) => !f.name.startsWith('.'))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const f of files) {
      const rel = `${className}/${f.name}`;
      if (f.isFile() && isImageFileName(f.name)) {
        const file = path.join(root, rel);
        candidates.push({ className, source: rel, file, load: (target) => loadImageFile(file, target) });
      } else {
        ignored.push(rel);
      }
    }
  }
  const warnings =
    ignored.length > 0
      ? [
          `ignored ${ignored.length} entries that are not .png/.jpg/.jpeg files (e.g. ${ignored.slice(0, 3).join(', ')})`,
        ]
      : [];
  return { name: path.basename(root), classes, candidates, warnings };
}
