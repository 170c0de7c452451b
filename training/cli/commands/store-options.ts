import type { Command } from 'commander';
import { z } from 'zod';
import { EdgetuneError } from '../../../shared/errors.ts';
import type { RoutingUpdate } from '../../../shared/routing/operations.ts';
import type { RoutingDoc } from '../../../shared/routing/schema.ts';
import type { ObjectStore } from '../../../shared/store/types.ts';
import { DEFAULT_STORE_URL, openStore } from '../../../shared/store/node/open.ts';

/** Options every registry command takes. */
export interface StoreCommandOptions {
  store: string;
  json?: boolean;
  reason?: string;
}

/** `--store <url>` (default $EDGETUNE_STORE or file://.edgetune/store) and `--json`. */
export function withStoreOptions(cmd: Command): Command {
  return cmd
    .option(
      '--store <url>',
      'object store: file://<dir> or s3://<bucket>/<prefix>?endpoint=...',
      process.env.EDGETUNE_STORE ?? DEFAULT_STORE_URL,
    )
    .option('--json', 'print one JSON object on stdout');
}

export function storeFrom(options: StoreCommandOptions): ObjectStore {
  return openStore(options.store);
}

/** Parses a numeric flag with zod so that "50%" or "abc" is a clear error, not NaN. */
export function numberFlag(flag: string, raw: string, min: number, max: number): number {
  const parsed = z.coerce
    .number()
    .finite()
    .min(min)
    .max(max)
    .safeParse(raw.trim() === '' ? Number.NaN : raw);
  if (!parsed.success)
    throw new EdgetuneError(
      'bad_request',
      `${flag} must be a number from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  return parsed.data;
}

export function describeRouting(doc: RoutingDoc | null): string {
  if (!doc) return 'routing: (none)';
  const candidateWeight = doc.candidates.reduce((s, c) => s + c.weight, 0);
  const lines = [`stable:     ${doc.stable ?? '(none)'}${doc.stable ? ` (${100 - candidateWeight}%)` : ''}`];
  for (const c of doc.candidates) lines.push(`candidate:  ${c.version} (${c.weight}%)`);
  if (doc.shadow) lines.push(`shadow:     ${doc.shadow.version} (sample ${doc.shadow.sample})`);
  if (doc.updatedAt) lines.push(`updated:    ${doc.updatedAt}${doc.reason ? ` — ${doc.reason}` : ''}`);
  return lines.join('\n');
}

export function routingResult(name: string, update: RoutingUpdate): Record<string, unknown> {
  return { name, changed: update.changed, routing: update.doc, previous: update.previous, etag: update.etag };
}
