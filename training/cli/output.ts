/** Output helpers shared by every command: `--json` prints one JSON object, otherwise text. */
export interface OutputOptions {
  json?: boolean;
}

export function printResult(options: OutputOptions, value: unknown, text: () => string): void {
  if (options.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else process.stdout.write(`${text()}\n`);
}

/** Progress and log lines go to stderr so that `--json` stdout stays machine-readable. */
export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}
