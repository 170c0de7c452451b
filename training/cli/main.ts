import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands/index.ts';
import { formatCliError } from './format-error.ts';

const program = new Command();
program
  .name('edgetune')
  .description('Transfer learning from training job to edge endpoint.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // --help / --version exit with code 0; usage errors have already been printed by commander.
    process.exitCode = e.exitCode;
  } else {
    process.stderr.write(`edgetune: ${formatCliError(e)}\n`);
    if (process.env.EDGETUNE_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    process.exitCode = 1;
  }
}
