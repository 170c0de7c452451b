import { ZodError } from 'zod';

/** `minSamples` → `--min-samples`: how a user typed the flag a schema path names. */
function flagOf(path: readonly PropertyKey[]): string {
  const key = path.map(String).join('.');
  return key ? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` : 'options';
}

/**
 * What the CLI prints after `edgetune: `. Flag schema errors name the flag and what is wrong with
 * it (a ZodError's own message is a JSON dump); other errors are printed whole, continuation lines
 * indented, because a foreign library's explanation (onnxruntime's especially) is often on the
 * lines after its first.
 */
export function formatCliError(e: unknown): string {
  if (e instanceof ZodError) return e.issues.map((i) => `${flagOf(i.path)}: ${i.message}`).join('; ');
  const text = e instanceof Error ? e.message : String(e);
  const lines = text
    .trim()
    .split('\n')
    .map((l) => l.trimEnd())
    .filter(Boolean);
  return lines.map((l, i) => (i === 0 ? l : `  ${l.trimStart()}`)).join('\n');
}
