import type { Command } from 'commander';
import { assertName } from '../../../shared/names.ts';
import { deleteVersion } from '../../../shared/registry/delete.ts';
import { printResult } from '../output.ts';
import { type StoreCommandOptions, storeFrom, withStoreOptions } from './store-options.ts';

export function register(program: Command): void {
  withStoreOptions(
    program
      .command('delete-version <name> <version>')
      .description('delete a version (refused while routing sends it traffic)'),
  ).action(async (name: string, version: string, options: StoreCommandOptions) => {
    const result = await deleteVersion(
      storeFrom(options),
      assertName('model', name),
      assertName('version', version),
    );
    printResult(options, result, () => `deleted ${name} ${version} (${result.deleted.length} objects)`);
  });
}
