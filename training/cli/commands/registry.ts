import type { Command } from 'commander';
import { register as registerDeleteVersion } from './delete-version.ts';
import { register as registerModels } from './models.ts';
import { register as registerPublish } from './publish.ts';
import { register as registerRouting } from './routing.ts';

/** The model-registry commands: models list/show, publish, rollout, promote, rollback, shadow, delete-version. */
export function register(program: Command): void {
  // `models show <name> --version v` (the spelling) would otherwise be taken by the root
  // program's -V/--version; with positional options, root options only count before the subcommand.
  program.enablePositionalOptions();
  registerModels(program);
  registerPublish(program);
  registerRouting(program);
  registerDeleteVersion(program);
}
