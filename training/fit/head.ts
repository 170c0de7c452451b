/**
 * `--head <spec>`: the new classifier put on the feature layer, as comma-separated key=value:
 *   dropout=0.2   dropout rate on the features (and on the hidden layer), 0..0.9
 *   hidden=0      units of a hidden Dense+ReLU layer before the softmax (0 = none: a linear head)
 * e.g. `--head dropout=0.3` or `--head hidden=128,dropout=0.4`.
 */
import { z } from 'zod';
import { EdgetuneError } from '../../shared/errors.ts';

export const HeadSpecSchema = z
  .object({
    dropout: z.coerce.number().min(0).max(0.9).default(0.2),
    hidden: z.coerce.number().int().min(0).max(4096).default(0),
  })
  .strict();
export type HeadSpec = z.infer<typeof HeadSpecSchema>;

export const DEFAULT_HEAD: HeadSpec = { dropout: 0.2, hidden: 0 };

export function parseHeadSpec(text: string | undefined): HeadSpec {
  if (text === undefined || text.trim() === '') return { ...DEFAULT_HEAD };
  const raw: Record<string, string> = {};
  for (const part of text.split(',')) {
    const m = /^\s*([a-z]+)\s*=\s*([^\s]+)\s*$/.exec(part);
    if (!m)
      throw new EdgetuneError(
        'bad_request',
        `--head: expected key=value pairs (dropout=0.2,hidden=128), got "${part}"`,
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
  return h.hidden > 0
    ? `dropout ${h.dropout} → dense ${h.hidden} relu → dropout ${h.dropout} → dense softmax`
    : `dropout ${h.dropout} → dense softmax`;
}
