/**
 * The safe racing bound: every configuration it stops is checked against every way the remaining
 * splits could have gone, through the pick itself (choosePaired), so the test fails if the rule
 * ever stops a configuration that could still have been picked.
 */
import { describe, expect, it } from 'vitest';
import { createRng } from '../../../shared/random.ts';
import { choosePaired } from '../../../training/select/choose.ts';
import { cannotOvertake } from '../../../training/select/race.ts';

/** Accuracies a held-out fold can have: 10 images (one per class of 10), or 3 (of 3 classes). */
const GRIDS = [Array.from({ length: 11 }, (_, i) => i / 10), [0, 1 / 3, 2 / 3, 1]];

/** Every sequence of `n` values from `grid`. */
function* completions(grid: readonly number[], n: number): Generator<number[]> {
  if (n === 0) {
    yield [];
    return;
  }
  for (const v of grid) for (const rest of completions(grid, n - 1)) yield [v, ...rest];
}

describe('racing: cannotOvertake', () => {
  it('stops only configurations that no outcome of their remaining splits would have picked', () => {
    const rng = createRng(7);
    let stops = 0;
    let kept = 0;
    for (const grid of GRIDS) {
      const horizon = grid.length > 4 ? 4 : 5;
      const draw = () => grid[Math.floor(rng() * grid.length)]!;
      for (let t = 0; t < 150; t++) {
        // The leader: a head scored on the horizon's splits, or on the whole plan (then it is the
        // reference whose mean fills in the estimates of configurations with fewer splits).
        const leader = Array.from({ length: t % 2 ? horizon : 2 * horizon }, draw);
        if (t % 7 === 0) leader.fill(1, 0, horizon);
        for (let done = 0; done < horizon; done++) {
          const prefix = Array.from({ length: done }, draw);
          if (!cannotOvertake(prefix, leader, horizon)) {
            kept++;
            continue;
          }
          stops++;
          for (const rest of completions(grid, horizon - done)) {
            const candidate = { id: 'candidate', complexity: 100, folds: [...prefix, ...rest] };
            const c = choosePaired([{ id: 'leader', complexity: 0, folds: leader }, candidate], 1)!;
            expect(c.best, `${prefix} + ${rest} against ${leader}`).toBe('leader');
          }
        }
      }
    }
    // Both outcomes occur: the rule is neither vacuous nor stopping everything.
    expect(stops).toBeGreaterThan(50);
    expect(kept).toBeGreaterThan(50);
  });

  it('stops a configuration the rest of the splits cannot save, and keeps one they can', () => {
    const leader = [0.8, 0.8, 0.8, 0.8, 0.8];
    // 0.4 behind after two splits, at most 3 × 0.2 to gain on the other three: cannot overtake.
    expect(cannotOvertake([0.2, 0.2], leader, 5)).toBe(true);
    // 2.8 + 3 × 1 would beat 4.0: keep it.
    expect(cannotOvertake([0.6, 0.6], leader, 5)).toBe(false);
    // 0.6 behind, 0.6 to gain: at best a tie, which rounding may decide either way: keep it.
    expect(cannotOvertake([0.5, 0.5], leader, 5)).toBe(false);
    expect(cannotOvertake([0.5, 0.4], leader, 5)).toBe(true);
    // Before the first split: only a leader at 100% everywhere could not be overtaken, and then
    // only tied.
    expect(cannotOvertake([], [1, 1, 1], 3)).toBe(false);
    // Nothing to bound against, or nothing left to score.
    expect(cannotOvertake([0], [1, 1], 3)).toBe(false);
    expect(cannotOvertake([0, 0, 0], [1, 1, 1], 3)).toBe(false);
  });
});
