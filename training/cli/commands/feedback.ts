import type { Command } from 'commander';
import { EdgetuneError } from '../../../shared/errors.ts';
import { checkLabel, servedLabels } from '../../../shared/feedback/labels.ts';
import {
  acceptQuarantined,
  listQuarantine,
  type QuarantinedFeedback,
  rejectQuarantined,
} from '../../../shared/feedback/quarantine.ts';
import { saveFeedback } from '../../../shared/feedback/store.ts';
import { readPolicy } from '../../../shared/jobs/policy.ts';
import { assertName } from '../../../shared/names.ts';
import { loadDataset } from '../../datasets/load.ts';
import { encodePng } from '../../images/edit.ts';
import { printResult } from '../output.ts';
import { numberFlag, type StoreCommandOptions, storeFrom, withStoreOptions } from './store-options.ts';

interface ImportOptions extends StoreCommandOptions {
  trusted?: boolean;
  seed?: string;
}

interface PickOptions extends StoreCommandOptions {
  all?: boolean;
}

function describeHeld(q: QuarantinedFeedback): string {
  const r = q.record;
  return `${r.id}  label ${JSON.stringify(r.label)}  received ${r.receivedAt}  held ${q.quarantinedAt}${q.job ? ` by job ${q.job}` : ''}`;
}

/** The ids a review command acts on: the arguments, or every quarantined record with --all. */
async function pick(
  options: PickOptions,
  model: string,
  ids: string[],
): Promise<{ store: ReturnType<typeof storeFrom>; ids: string[] }> {
  const store = storeFrom(options);
  if (options.all && ids.length > 0)
    throw new EdgetuneError('bad_request', 'give record ids or --all, not both');
  if (!options.all && ids.length === 0)
    throw new EdgetuneError('bad_request', 'give record ids (see feedback review) or --all');
  const chosen = options.all ? (await listQuarantine(store, model)).map((q) => q.record.id) : ids;
  return { store, ids: chosen };
}

/** `edgetune feedback import|review|accept|reject`: feedback and its quarantine in the store. */
export function register(program: Command): void {
  const feedback = program
    .command('feedback')
    .description(
      'labelled feedback in the store: import it, review what the poisoned-feedback check held back',
    );

  withStoreOptions(
    feedback
      .command('import <model> <data>')
      .description(
        'store a labelled dataset (folder:<dir> of label subfolders, csv:<file>, ...) as feedback for <model>',
      )
      .option('--trusted', 'labels were checked by a person: they may join the evaluation holdout')
      .option('--seed <n>', 'dataset sampling seed', '1'),
  ).action(async (model: string, data: string, options: ImportOptions) => {
    assertName('model', model);
    const store = storeFrom(options);
    const ds = await loadDataset(data, { seed: numberFlag('--seed', options.seed ?? '1', 0, 2 ** 31 - 1) });
    const [served, policy] = await Promise.all([servedLabels(store, model), readPolicy(store, model)]);
    // Every label is checked before anything is written: a bad import stores nothing.
    const known = ds.labels.map((l) => checkLabel(l, served.labels, policy?.policy ?? null));
    let added = 0;
    for (const s of ds.samples) {
      const saved = await saveFeedback(store, model, {
        image: encodePng(s.image),
        label: ds.labels[s.label]!,
        knownLabel: known[s.label]!,
        trusted: options.trusted === true,
      });
      if (!saved.duplicate) added++;
    }
    const result = { model, samples: ds.samples.length, added, trusted: options.trusted === true };
    printResult(
      options,
      result,
      () =>
        `${model}: ${added} new feedback samples of ${ds.samples.length} (${result.trusted ? 'trusted' : 'untrusted'})`,
    );
  });

  withStoreOptions(
    feedback.command('review <model>').description('list feedback held in quarantine, with why'),
  ).action(async (model: string, options: StoreCommandOptions) => {
    const held = await listQuarantine(storeFrom(options), assertName('model', model));
    const reasons = [...new Set(held.map((q) => q.reason))];
    printResult(options, { model, quarantined: held }, () =>
      held.length === 0
        ? `${model}: no quarantined feedback`
        : [
            `${model}: ${held.length} quarantined samples`,
            ...reasons.map((r) => `  why: ${r}`),
            ...held.map(describeHeld),
          ].join('\n'),
    );
  });

  withStoreOptions(
    feedback
      .command('accept <model> [ids...]')
      .description('release quarantined samples back into training (they count as new feedback)')
      .option('--all', 'every quarantined sample of the model'),
  ).action(async (model: string, ids: string[], options: PickOptions) => {
    const picked = await pick(options, assertName('model', model), ids);
    const accepted = await acceptQuarantined(picked.store, model, picked.ids);
    printResult(
      options,
      { model, accepted: accepted.map((r) => r.id) },
      () => `${model}: ${accepted.length} samples accepted`,
    );
  });

  withStoreOptions(
    feedback
      .command('reject <model> [ids...]')
      .description('delete quarantined samples for good')
      .option('--all', 'every quarantined sample of the model'),
  ).action(async (model: string, ids: string[], options: PickOptions) => {
    const picked = await pick(options, assertName('model', model), ids);
    const n = await rejectQuarantined(picked.store, model, picked.ids);
    printResult(options, { model, rejected: n }, () => `${model}: ${n} samples rejected`);
  });
}
