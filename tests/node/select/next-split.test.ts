/**
 * The split pool starts, among the queued splits, the first of a configuration with none running:
 * a second split of a configuration racing may stop on the running one's answer waits while
 * another configuration's split can start.
 */
import { describe, expect, it } from 'vitest';
import { nextSplit } from '../../../training/select/split-pool.ts';

const fineTune = { id: 'fine-tune 2' };
const scratch = { id: 'scratch CNN' };
type State = 'queued' | 'running' | 'answered';
/** A queue from `owner key state` lines, in the order the search asks for the splits. */
const queueOf = (...lines: [object, string, State][]) =>
  lines.map(([owner, key, state]) => ({
    owner,
    key,
    started: state !== 'queued',
    running: state === 'running',
  }));

describe('nextSplit', () => {
  const cases: { what: string; queue: ReturnType<typeof queueOf>; next?: string }[] = [
    {
      what: 'a configuration with no split running before one racing may stop on the running split',
      next: '11:4',
      queue: queueOf(
        [fineTune, '10:3', 'running'],
        [fineTune, '10:4', 'queued'],
        [scratch, '11:4', 'queued'],
      ),
    },
    {
      what: 'otherwise the search’s order',
      queue: queueOf(
        [fineTune, '10:3', 'answered'],
        [fineTune, '10:4', 'queued'],
        [scratch, '11:4', 'queued'],
      ),
      next: '10:4',
    },
    {
      what: 'a busy configuration’s split when nothing else waits',
      queue: queueOf([scratch, '11:3', 'running'], [scratch, '11:4', 'queued']),
      next: '11:4',
    },
    { what: 'nothing when nothing waits', queue: queueOf([scratch, '11:4', 'running']) },
  ];
  for (const c of cases) {
    it(c.what, () => {
      expect(nextSplit(c.queue)?.key).toBe(c.next);
    });
  }
});
