import path from 'node:path';
import { EdgetuneError } from '../../../shared/errors.ts';
import type { SourceListing } from '../types.ts';
import { loadImageFile, readDataFile, sortClassNames } from './common.ts';

/** One CSV line → fields (RFC 4180 quoting: "a,b" and "" for a quote). */
function splitCsvLine(line: string): string[] | undefined {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  if (quoted) return undefined;
  fields.push(field);
  return fields.map((f) => f.trim());
}

/** `csv:<file>`: rows "path,label" (an optional "path,label" header row), paths relative to the CSV. */
export async function listCsv(file: string, cwd: string): Promise<SourceListing> {
  const csvPath = path.resolve(cwd, file);
  const text = new TextDecoder().decode(await readDataFile(csvPath, 'CSV file'));
  const base = path.dirname(csvPath);
  const candidates: SourceListing['candidates'] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const fields = splitCsvLine(line);
    const where = `${csvPath}:${i + 1}`;
    if (fields?.length !== 2) {
      throw new EdgetuneError(
        'bad_request',
        `${where}: expected two fields "path,label", got ${JSON.stringify(line.slice(0, 120))}`,
      );
    }
    const [rel, label] = fields as [string, string];
    if (candidates.length === 0 && rel.toLowerCase() === 'path' && label.toLowerCase() === 'label') return;
    if (!rel || !label) throw new EdgetuneError('bad_request', `${where}: empty path or label`);
    const imagePath = path.resolve(base, rel);
    candidates.push({
      className: label,
      source: rel,
      file: imagePath,
      load: (target) => loadImageFile(imagePath, target),
    });
  });
  if (candidates.length === 0) throw new EdgetuneError('bad_request', `${csvPath}: no rows`);
  return {
    name: path.basename(csvPath).replace(/\.csv$/i, ''),
    classes: sortClassNames(candidates.map((c) => c.className)),
    candidates,
    warnings: [],
  };
}
