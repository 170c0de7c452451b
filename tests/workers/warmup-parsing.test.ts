/**
 * The start-up parsing warm-up (functions/runtime/warmup-parsing.ts) runs its documents through the
 * schemas the cold request's reads use: when a schema changes so that a sample no longer parses,
 * the warm-up would silently stop covering it, so it throws and this test fails.
 */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../functions/http/routes/index.ts';
import { ENGINE_ONLY } from '../../functions/runtime/backends.ts';
import { warmUpParsing } from '../../functions/runtime/warmup-parsing.ts';

describe('start-up parsing warm-up', () => {
  it('parses its routing document, manifest and settings and matches the classify route', () => {
    expect(() => warmUpParsing(createApp(ENGINE_ONLY))).not.toThrow();
  });
});
