/**
 * `--head <spec>`: the new classifier put on the feature layer, as comma-separated key=value:
 *   dropout=0.2   dropout rate on the features (and on the hidden layer), 0..0.9
 *   hidden=0      units of a hidden Dense+ReLU layer before the softmax (0 = none: a linear head)
 * e.g. `--head dropout=0.3` or `--head hidden=128,dropout=0.4`; or `--head logistic`: the linear
 * head fitted as L2 logistic regression to its optimum on the frozen features (fit/logistic.ts),
 * with no seed, dropout or early stopping.
 */
import { z } from 'zod';
import { EdgetuneError } from '../../shared/errors.ts';

export const HeadSpecSchema = z
  .object({
    dropout: z.coerce.number().min(0).max(0.9).default(0.2),
    hidden: z.coerce.number().int().min(0).max(4096).default(0),
    /** The linear head fitted as logistic regression (fit/logistic.ts) instead of trained by SGD. */
    logistic: z.boolean().optional(),
  })
  .strict();
export type HeadSpec = z.infer<typeof HeadSpecSchema>;

export const DEFAULT_HEAD: HeadSpec = { dropout: 0.2, hidden: 0 };
/** Computed, not trained: dropout would never apply. */
export const LOGISTIC_HEAD: HeadSpec = { dropout: 0, hidden: 0, logistic: true };

export function parseHeadSpec(text: string | undefined): HeadSpec {
  if (text === undefined || text.trim() === '') return { ...DEFAULT_HEAD };
  if (text.trim() === 'logistic') return { ...LOGISTIC_HEAD };
  const raw: Record<string, string> = {};
  for (const part of text.split(',')) {
    const m = /^\s*([a-z]+)\s*=\s*([^\s]+)\s*$/.exec(part);
    if (!m)
      throw new EdgetuneError(
        'bad_request',
        `--head: expected key=value pairs (dropout=0.2,hidden=128) or "logistic", got "${part}"`,
      );
    raw[m[1]!] = m[2]!;
  }
  const r = HeadSpecSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new EdgetuneError(
      'bad_request',
      `--head: ${issue?.path.join('.') || ''} ${issue?.message ?? 'invalid'}`.trim(),
    );
  }
  return r.data;
}

export function describeHead(h: HeadSpec): string {
  if (h.logistic) return 'logistic regression (L2, standardized features, fitted to convergence)';
  return h.hidden > 0
    ? `dropout ${h.dropout} → dense ${h.hidden} relu → dropout ${h.dropout} → dense softmax`
    : `dropout ${h.dropout} → dense softmax`;
}
