import { describe, expect, it } from 'vitest';
import type { RoutingDoc } from '../../../shared/routing/schema.ts';
import { createRng } from '../../../shared/random.ts';
import {
  chooseVersion,
  shadowVersion,
  stickyFraction,
  trafficShares,
} from '../../../shared/routing/choose.ts';

const doc = (over: Partial<RoutingDoc>): RoutingDoc => ({
  stable: 'v1',
  candidates: [],
  shadow: null,
  ...over,
});

function counts(n: number, pick: (i: number) => string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const v = pick(i) ?? 'none';
    out[v] = (out[v] ?? 0) + 1;
  }
  return out;
}

describe('chooseVersion', () => {
  it('an explicit version wins over everything', () => {
    const d = doc({ candidates: [{ version: 'v2', weight: 100 }] });
    expect(chooseVersion(d, { pinned: 'v7', userKey: 'u' })).toEqual({ version: 'v7', via: 'pinned' });
  });

  it('weighted random follows the weights (20 000 draws, within 1.5 points)', () => {
    const d = doc({
      candidates: [
        { version: 'v2', weight: 10 },
        { version: 'v3', weight: 25 },
      ],
    });
    const rng = createRng(42);
    const c = counts(20_000, () => chooseVersion(d, { random: rng })!.version);
    expect(Math.abs(c.v1! / 200 - 65)).toBeLessThan(1.5);
    expect(Math.abs(c.v2! / 200 - 10)).toBeLessThan(1.5);
    expect(Math.abs(c.v3! / 200 - 25)).toBeLessThan(1.5);
    expect(chooseVersion(d, { random: () => 0.0999 })).toEqual({ version: 'v2', via: 'weighted' });
    expect(chooseVersion(d, { random: () => 0.1 })).toEqual({ version: 'v3', via: 'weighted' });
    expect(chooseVersion(d, { random: () => 0.35 })).toEqual({ version: 'v1', via: 'weighted' });
  });

  it('sticky keys always get the same version, spread by the weights', () => {
    const d = doc({ candidates: [{ version: 'v2', weight: 30 }] });
    const c = counts(20_000, (i) => chooseVersion(d, { userKey: `user-${i}`, salt: 'cats' })!.version);
    expect(Math.abs(c.v2! / 200 - 30)).toBeLessThan(1.5);
    for (let i = 0; i < 200; i++) {
      const first = chooseVersion(d, { userKey: `user-${i}`, random: () => 0 });
      const again = chooseVersion(d, { userKey: `user-${i}`, random: () => 0.99 });
      expect(again).toEqual(first);
      expect(first!.via).toBe('sticky');
    }
  });

  it('raising a canary weight only moves users from stable to the canary', () => {
    const at = (w: number) => doc({ candidates: [{ version: 'v2', weight: w }] });
    let moved = 0;
    let canaryBefore = 0;
    let canaryLeft = 0;
    for (let i = 0; i < 5_000; i++) {
      const before = chooseVersion(at(10), { userKey: `u${i}` })!.version;
      const after = chooseVersion(at(40), { userKey: `u${i}` })!.version;
      if (before === 'v2') canaryBefore++;
      if (before === 'v2' && after !== 'v2') canaryLeft++;
      if (before !== after) moved++;
    }
    // About 10 % were on the canary at 10 (so the next check is not vacuous), and none left it.
    expect(Math.abs(canaryBefore / 50 - 10)).toBeLessThan(2.5);
    expect(canaryLeft).toBe(0);
    expect(Math.abs(moved / 50 - 30)).toBeLessThan(2.5); // ~30% of users move
  });

  it('salts make the same user land independently per model', () => {
    let same = 0;
    for (let i = 0; i < 4_000; i++)
      if (stickyFraction(`u${i}`, 'a') < 0.5 === stickyFraction(`u${i}`, 'b') < 0.5) same++;
    expect(Math.abs(same / 4_000 - 0.5)).toBeLessThan(0.04);
  });

  it('without a stable version the candidates share all traffic; with nothing routable, null', () => {
    expect(
      trafficShares(
        doc({
          stable: null,
          candidates: [
            { version: 'v2', weight: 10 },
            { version: 'v3', weight: 30 },
          ],
        }),
      ),
    ).toEqual([
      ['v2', 0.25],
      ['v3', 0.75],
    ]);
    expect(chooseVersion(doc({ stable: null }))).toBeNull();
    expect(chooseVersion(doc({ stable: null, candidates: [{ version: 'v2', weight: 0 }] }))).toBeNull();
    expect(
      chooseVersion(doc({ candidates: [{ version: 'v2', weight: 100 }] }), { random: () => 0.999999 })!
        .version,
    ).toBe('v2');
  });

  it('stickyFraction is uniform: 10 buckets of 50 000 keys each within 4% of 5 000', () => {
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 50_000; i++) buckets[Math.floor(stickyFraction(`session-${i}`) * 10)]++;
    for (const b of buckets) expect(Math.abs(b - 5_000)).toBeLessThan(200);
    expect(stickyFraction('x')).toBe(stickyFraction('x'));
  });
});

describe('shadowVersion', () => {
  it('mirrors the sampled fraction and never the answering version', () => {
    const d = doc({ candidates: [{ version: 'v2', weight: 10 }], shadow: { version: 'v3', sample: 0.2 } });
    const rng = createRng(7);
    const c = counts(20_000, () => shadowVersion(d, 'v1', rng));
    expect(Math.abs(c.v3! / 200 - 20)).toBeLessThan(1.5);
    expect(shadowVersion(d, 'v3', () => 0)).toBeNull();
    expect(shadowVersion(doc({}), 'v1', () => 0)).toBeNull();
    expect(shadowVersion(doc({ shadow: { version: 'v3', sample: 0 } }), 'v1', () => 0)).toBeNull();
  });
});
