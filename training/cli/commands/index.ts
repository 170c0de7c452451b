import type { Command } from 'commander';

/**
 * Every subcommand lives in its own file and exports `register(program)`; add one line here.
 */
export function registerCommands(program: Command): void {
  void program;
}
