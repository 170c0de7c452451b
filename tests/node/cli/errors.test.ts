import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatCliError } from '../../../training/cli/format-error.ts';
import { runCli } from '../cli-helper.ts';

describe('CLI error messages', () => {
  it('names the flag a schema refused instead of dumping the ZodError', () => {
    const flags = z.object({ minSamples: z.number().int(), build: z.enum(['engine', 'full']) });
    const parsed = flags.safeParse({ minSamples: 1.5, build: 'tiny' });
    expect(parsed.success).toBe(false);
    const text = formatCliError(parsed.error);
    expect(text).not.toContain('[');
    expect(text).toMatch(/^--min-samples: .+; --build: .+/);
    expect(text.split('\n')).toHaveLength(1);
  });

  it('shows a foreign multi-line error whole, continuation lines indented', () => {
    const e = new Error(
      'Load model failed:\n[ONNXRuntimeError] : 10 : INVALID_GRAPH : This is an invalid model.\n  Type Error: Type (tensor(int64)) of input parameter (x) of operator (Conv) is invalid.\n',
    );
    expect(formatCliError(e)).toBe(
      'Load model failed:\n  [ONNXRuntimeError] : 10 : INVALID_GRAPH : This is an invalid model.\n  Type Error: Type (tensor(int64)) of input parameter (x) of operator (Conv) is invalid.',
    );
  });

  it('a mistyped backbone is reported before any data is read', async () => {
    // The data folder does not exist: had the dataset been read first, that would be the error.
    const r = await runCli([
      'train',
      '--backbone',
      'nsfwjs:MobileNetV3',
      '--data',
      'folder:/nonexistent/edgetune-photos',
      '--name',
      'typo',
    ]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines.at(-1)).toBe(
      "edgetune: unknown nsfwjs model 'MobileNetV3' (available: MobileNetV2, InceptionV3)",
    );
    expect(r.stderr).not.toMatch(/nonexistent/);
  });
});
