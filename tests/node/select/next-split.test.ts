/**
 * The split pool starts, among the queued splits, the leader's first (racing never stops it), else
 * the first of a configuration with none running: a second split of a configuration racing may stop
 * on the running one's answer waits while another configuration's split can start.
 */
import { describe, expect, it } from 'vitest';
import { nextSplit } from '../../../training/select/split-pool.ts';

const fineTune = { id: 'fine-tune 2' };
const scratch = { id: 'scratch CNN' };
const split = (owner: object, key: string, state: 'queued' | 'running' | 'answered') => ({
  owner,
  key,
  started: state !== 'queued',
  running: state === 'running',
});

describe('nextSplit', () => {
  it('starts the leader’s split first: racing never stops the leader', () => {
    // Fine-tuning's split 4 answered but unread (racing may stop it on that answer), the
    // leader's split 3 still running.
    const queue = [
      split(scratch, '11:2', 'running'),
      split(fineTune, '10:3', 'answered'),
      split(scratch, '11:3', 'queued'),
      split(fineTune, '10:4', 'queued'),
    ];
    expect(nextSplit(queue, scratch)?.key).toBe('11:3');
    expect(nextSplit(queue)?.key).toBe('10:4');
  });

  it('passes over a configuration whose earlier split is still running', () => {
    const queue = [
      split(fineTune, '10:3', 'running'),
      split(scratch, '11:3', 'answered'),
      split(fineTune, '10:4', 'queued'),
      split(scratch, '11:4', 'queued'),
    ];
    expect(nextSplit(queue)?.key).toBe('11:4');
  });

  it('keeps the search’s order otherwise, and starts a busy configuration’s split when nothing else waits', () => {
    expect(
      nextSplit([
        split(fineTune, '10:3', 'answered'),
        split(fineTune, '10:4', 'queued'),
        split(scratch, '11:4', 'queued'),
      ])?.key,
    ).toBe('10:4');
    expect(nextSplit([split(scratch, '11:3', 'running'), split(scratch, '11:4', 'queued')])?.key).toBe(
      '11:4',
    );
    expect(nextSplit([split(scratch, '11:4', 'running')])).toBeUndefined();
  });
});
