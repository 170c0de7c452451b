import type { Command } from 'commander';
import { EdgetuneError } from '../../../shared/errors.ts';
import { assertName } from '../../../shared/names.ts';
import { clearShadow, promote, rollback, rollout, setShadow } from '../../../shared/routing/operations.ts';
import { printResult } from '../output.ts';
import {
  describeRouting,
  numberFlag,
  routingResult,
  type StoreCommandOptions,
  storeFrom,
  withStoreOptions,
} from './store-options.ts';

/** rollout / promote / rollback / shadow: every one is a compare-and-swap on routing.json. */
export function register(program: Command): void {
  withStoreOptions(
    program
      .command('rollout <name> <version>')
      .description('send a share of traffic to a candidate version (0 removes it)')
      .requiredOption('--weight <percent>', 'percent of requests, 0-100')
      .option('--reason <text>', 'why (kept in the routing history)'),
  ).action(async (name: string, version: string, options: StoreCommandOptions & { weight: string }) => {
    const weight = numberFlag('--weight', options.weight, 0, 100);
    const update = await rollout(
      storeFrom(options),
      assertName('model', name),
      assertName('version', version),
      weight,
      {
        reason: options.reason,
      },
    );
    printResult(options, routingResult(name, update), () => `${name}:\n${describeRouting(update.doc)}`);
  });

  withStoreOptions(
    program
      .command('promote <name> <version>')
      .description('make a version stable (the previous stable stays in the history)')
      .option('--reason <text>', 'why (kept in the routing history)'),
  ).action(async (name: string, version: string, options: StoreCommandOptions) => {
    const update = await promote(
      storeFrom(options),
      assertName('model', name),
      assertName('version', version),
      {
        reason: options.reason,
      },
    );
    printResult(options, routingResult(name, update), () => `${name}:\n${describeRouting(update.doc)}`);
  });

  withStoreOptions(
    program
      .command('rollback <name>')
      .description('make the previous stable version (from the routing history) stable again')
      .option('--reason <text>', 'why (kept in the routing history)'),
  ).action(async (name: string, options: StoreCommandOptions) => {
    const update = await rollback(storeFrom(options), assertName('model', name), { reason: options.reason });
    printResult(
      options,
      routingResult(name, update),
      () =>
        `${name}: rolled back ${update.previous?.stable} → ${update.doc.stable}\n${describeRouting(update.doc)}`,
    );
  });

  withStoreOptions(
    program
      .command('shadow <name> [version]')
      .description('mirror a sample of requests to a version without answering with it')
      .option('--sample <fraction>', 'fraction of requests to mirror, 0-1')
      .option('--clear', 'stop shadowing')
      .option('--reason <text>', 'why (kept in the routing history)'),
  ).action(
    async (
      name: string,
      version: string | undefined,
      options: StoreCommandOptions & { sample?: string; clear?: boolean },
    ) => {
      assertName('model', name);
      const store = storeFrom(options);
      let update: Awaited<ReturnType<typeof clearShadow>>;
      if (options.clear) {
        if (version !== undefined || options.sample !== undefined) {
          throw new EdgetuneError('bad_request', 'shadow --clear takes no version or --sample');
        }
        update = await clearShadow(store, name, { reason: options.reason });
      } else {
        if (version === undefined || options.sample === undefined) {
          throw new EdgetuneError('bad_request', 'shadow needs <version> and --sample <0-1> (or --clear)');
        }
        const sample = numberFlag('--sample', options.sample, 0, 1);
        update = await setShadow(store, name, assertName('version', version), sample, {
          reason: options.reason,
        });
      }
      printResult(options, routingResult(name, update), () => `${name}:\n${describeRouting(update.doc)}`);
    },
  );
}
