import { describe, expect, it } from 'vitest';
import { InFlight } from '../../../shared/own-wait.ts';

describe('work in flight shared as plain state (InFlight)', () => {
  it('is busy while claimed, and free once its caller lets go', () => {
    const inFlight = new InFlight<string>(() => 0);
    expect(inFlight.busy('a@v1')).toBe(false);
    const token = inFlight.claim('a@v1');
    expect(inFlight.busy('a@v1')).toBe(true);
    expect(inFlight.busy('a@v2')).toBe(false);
    inFlight.release('a@v1', token);
    expect(inFlight.busy('a@v1')).toBe(false);
  });

  it('counts a claim never let go as abandoned, and a late release never frees its replacement', () => {
    let now = 0;
    const inFlight = new InFlight<string>(() => now, 30_000);
    const cancelled = inFlight.claim('a@v1'); // its caller was cancelled: no release follows
    now = 29_999;
    expect(inFlight.busy('a@v1')).toBe(true);
    now = 30_000;
    expect(inFlight.busy('a@v1')).toBe(false);
    const next = inFlight.claim('a@v1');
    inFlight.release('a@v1', cancelled);
    expect(inFlight.busy('a@v1')).toBe(true);
    inFlight.release('a@v1', next);
    expect(inFlight.busy('a@v1')).toBe(false);
  });
});
