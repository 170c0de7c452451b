import type { Command } from 'commander';
import { EdgetuneError } from '../../../shared/errors.ts';
import {
  formatDuration,
  formatSize,
  parseDuration,
  parseSize,
  readPolicy,
  updatePolicy,
} from '../../../shared/jobs/policy.ts';
import type { RetrainPolicy, RetrainPolicyInput } from '../../../shared/jobs/schema.ts';
import { assertName } from '../../../shared/names.ts';
import { printResult } from '../output.ts';
import { numberFlag, type StoreCommandOptions, storeFrom, withStoreOptions } from './store-options.ts';

interface PolicySetOptions extends StoreCommandOptions {
  minSamples?: string;
  maxAge?: string;
  canaryWeight?: string;
  minImprovement?: string;
  metric?: string;
  metricGoal?: string;
  allowNewClasses?: boolean;
  searchAgain?: boolean;
  autoPromoteAfter?: string;
  autoPromoteTolerance?: string;
  maxFeedbackSamples?: string;
  maxFeedbackBytes?: string;
  maxFeedbackRequestBytes?: string;
  minAgreement?: string;
  minAgreementSamples?: string;
}

const orNone = (v: number | null, show: (n: number) => string = String) => (v === null ? '(none)' : show(v));

function describePolicy(name: string, p: RetrainPolicy): string {
  return [
    `${name} retrain policy:`,
    `  min new samples:   ${p.minNewSamples}`,
    `  max age:           ${p.maxAgeSeconds === null ? '(none)' : formatDuration(p.maxAgeSeconds)}`,
    `  canary weight:     ${p.canaryWeight}%`,
    `  min improvement:   ${p.minImprovement} on ${p.metric} (${p.metricGoal === 'max' ? 'higher' : 'lower'} is better)`,
    `  allow new classes: ${p.allowNewClasses ? 'yes' : 'no'}`,
    `  --select auto on retrain: ${p.searchAgain ? 'search again' : "reuse the recipe's choice"}`,
    `  auto-promote:      ${p.autoPromote ? `after ${p.autoPromote.afterObservations} observations (tolerance ${p.autoPromote.tolerance})` : 'off'}`,
    `  feedback quota:    ${orNone(p.maxFeedbackSamples)} samples, ${orNone(p.maxFeedbackBytes, formatSize)} stored`,
    `  feedback request:  at most ${p.maxFeedbackRequestBytes === null ? "the edge's MAX_BODY_BYTES" : formatSize(p.maxFeedbackRequestBytes)}`,
    `  feedback check:    ${p.minFeedbackAgreement === 0 ? 'off' : `agreement score >= ${p.minFeedbackAgreement} on batches of >= ${p.minAgreementSamples} new samples`}`,
    ...(p.updatedAt ? [`  updated:           ${p.updatedAt}`] : []),
  ].join('\n');
}

/** `edgetune policy show|set <name>`: the model's retrain policy (models/{name}/policy.json). */
export function register(program: Command): void {
  const policy = program.command('policy').description("show or edit a model's retrain policy");

  withStoreOptions(policy.command('show <name>').description('print the retrain policy')).action(
    async (name: string, options: StoreCommandOptions) => {
      const read = await readPolicy(storeFrom(options), assertName('model', name));
      if (!read)
        throw new EdgetuneError(
          'not_found',
          `${name} has no retrain policy (set one with: edgetune policy set ${name} ...)`,
        );
      printResult(options, { name, policy: read.policy }, () => describePolicy(name, read.policy));
    },
  );

  withStoreOptions(
    policy
      .command('set <name>')
      .description('create or change the retrain policy (unspecified fields keep their value)')
      .option('--min-samples <n>', 'new feedback samples that make a retrain due')
      .option(
        '--max-age <duration>',
        'retrain when the newest version is older (e.g. 7d, 12h; "none" to disable)',
      )
      .option('--canary-weight <percent>', 'traffic share for a winning candidate, 0-100')
      .option('--min-improvement <x>', 'margin the candidate must beat stable by (absolute, e.g. 0.01)')
      .option('--metric <name>', 'evaluation metric that decides (default accuracy)')
      .option('--metric-goal <max|min>', 'whether higher (max) or lower (min) is better')
      .option('--allow-new-classes', 'accept feedback labels the model does not know')
      .option('--no-allow-new-classes', 'reject feedback with unknown labels')
      .option('--search-again', 'retraining repeats the --select auto search instead of reusing its choice')
      .option('--no-search-again', "retraining trains the recipe's --select auto choice again (default)")
      .option(
        '--auto-promote-after <n>',
        'promote a canary after n labelled observations ("none" to disable)',
      )
      .option(
        '--auto-promote-tolerance <x>',
        'how much worse than stable the canary may observe and still be promoted',
      )
      .option(
        '--max-feedback-samples <n>',
        'feedback samples stored per model before the edge answers 429 ("none": no quota)',
      )
      .option(
        '--max-feedback-bytes <size>',
        'feedback image bytes stored per model, e.g. 1GiB ("none": no quota)',
      )
      .option(
        '--max-feedback-request-bytes <size>',
        'largest feedback request, e.g. 8MB ("none": the edge\'s MAX_BODY_BYTES)',
      )
      .option(
        '--min-agreement <x>',
        "poisoned-feedback check: new feedback's chance-corrected agreement with the best model, 0-1 (0 = off)",
      )
      .option('--min-agreement-samples <n>', 'smallest batch of new feedback the check judges'),
  ).action(async (name: string, options: PolicySetOptions) => {
    assertName('model', name);
    const store = storeFrom(options);
    const changes: Partial<RetrainPolicyInput> = {};
    if (options.minSamples !== undefined)
      changes.minNewSamples = numberFlag('--min-samples', options.minSamples, 1, 10_000_000);
    if (options.maxAge !== undefined)
      changes.maxAgeSeconds = options.maxAge === 'none' ? null : parseDuration(options.maxAge);
    if (options.canaryWeight !== undefined)
      changes.canaryWeight = numberFlag('--canary-weight', options.canaryWeight, 0, 100);
    if (options.minImprovement !== undefined)
      changes.minImprovement = numberFlag('--min-improvement', options.minImprovement, 0, 1_000_000);
    if (options.metric !== undefined) changes.metric = options.metric;
    if (options.metricGoal !== undefined) {
      if (options.metricGoal !== 'max' && options.metricGoal !== 'min') {
        throw new EdgetuneError(
          'bad_request',
          `--metric-goal must be max or min, got ${JSON.stringify(options.metricGoal)}`,
        );
      }
      changes.metricGoal = options.metricGoal;
    }
    if (options.allowNewClasses !== undefined) changes.allowNewClasses = options.allowNewClasses;
    if (options.searchAgain !== undefined) changes.searchAgain = options.searchAgain;
    if (options.minAgreement !== undefined)
      changes.minFeedbackAgreement = numberFlag('--min-agreement', options.minAgreement, 0, 1);
    if (options.minAgreementSamples !== undefined)
      changes.minAgreementSamples = numberFlag(
        '--min-agreement-samples',
        options.minAgreementSamples,
        1,
        10_000_000,
      );
    const current = (await readPolicy(store, name))?.policy.autoPromote ?? null;
    if (options.autoPromoteAfter === 'none') changes.autoPromote = null;
    else if (options.autoPromoteAfter !== undefined || options.autoPromoteTolerance !== undefined) {
      const after = options.autoPromoteAfter ?? current?.afterObservations;
      if (after === undefined)
        throw new EdgetuneError('bad_request', '--auto-promote-tolerance needs --auto-promote-after');
      changes.autoPromote = {
        afterObservations:
          typeof after === 'number' ? after : numberFlag('--auto-promote-after', after, 1, 10_000_000),
        tolerance:
          options.autoPromoteTolerance !== undefined
            ? numberFlag('--auto-promote-tolerance', options.autoPromoteTolerance, 0, 1)
            : (current?.tolerance ?? 0),
      };
    }
    if (options.maxFeedbackSamples !== undefined)
      changes.maxFeedbackSamples =
        options.maxFeedbackSamples === 'none'
          ? null
          : numberFlag('--max-feedback-samples', options.maxFeedbackSamples, 1, 100_000_000);
    if (options.maxFeedbackBytes !== undefined)
      changes.maxFeedbackBytes = sizeFlag('--max-feedback-bytes', options.maxFeedbackBytes, 1);
    if (options.maxFeedbackRequestBytes !== undefined)
      changes.maxFeedbackRequestBytes = sizeFlag(
        '--max-feedback-request-bytes',
        options.maxFeedbackRequestBytes,
        1024,
      );
    const updated = await updatePolicy(store, name, changes);
    printResult(options, { name, policy: updated }, () => describePolicy(name, updated));
  });
}

/** A size flag: `none` clears it, anything else must parse and be at least `min` bytes. */
function sizeFlag(flag: string, value: string, min: number): number | null {
  if (value === 'none') return null;
  let bytes: number;
  try {
    bytes = parseSize(value);
  } catch (e) {
    throw new EdgetuneError('bad_request', `${flag}: ${(e as Error).message}`);
  }
  if (bytes < min)
    throw new EdgetuneError(
      'bad_request',
      `${flag} must be at least ${min} bytes, got ${JSON.stringify(value)}`,
    );
  return bytes;
}
