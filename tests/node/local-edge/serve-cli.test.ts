/** `edgetune serve` refuses bad flags with one line naming the value, before starting anything. */
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli-helper.ts';

describe('edgetune serve flags', () => {
  it.each([
    [['--port', 'abc'], '--port must be a number from 0 to 65535, got "abc"'],
    [['--port', '1.5'], '--port must be a whole number, got "1.5"'],
    [['--port', '70000'], '--port must be a number from 0 to 65535, got "70000"'],
    [['--sync-interval', 'soon'], '--sync-interval must be a number from 0 to 3600000, got "soon"'],
    [['--admin-token', 'short'], '--admin-token must be at least 8 characters long'],
  ])(
    '%j → one-line error, non-zero exit',
    async (flags, message) => {
      const run = await runCli(['serve', '--store', 'file:///nonexistent-edgetune-store', ...flags]);
      expect(run.code).not.toBe(0);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(`edgetune: ${message}\n`);
    },
    60_000,
  );
});
