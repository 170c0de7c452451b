import type { z } from 'zod';
import { EdgetuneError } from '../../shared/errors.ts';

/** Parses a command's raw flags with its schema; the first problem becomes the one-line CLI error. */
export function parseFlags<S extends z.ZodType>(schema: S, raw: Record<string, unknown>): z.infer<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new EdgetuneError('bad_request', issue?.message ?? 'invalid flags');
  }
  return parsed.data;
}
