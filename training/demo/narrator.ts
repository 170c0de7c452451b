/**
 * How the demo talks: numbered steps with indented lines of measured output. Lines go to stdout,
 * or to stderr with `--json` so that stdout carries only the final JSON summary.
 */
import path from 'node:path';
import { errorMessage } from '../../shared/errors.ts';

export interface StepRecord {
  id: number;
  title: string;
  ok: boolean;
  seconds: number;
  error?: string;
}

export class Narrator {
  readonly steps: StepRecord[] = [];

  constructor(
    private readonly write: (line: string) => void,
    private readonly total: number,
  ) {}

  say(line = ''): void {
    this.write(line === '' ? '' : `   ${line}`);
  }

  heading(line: string): void {
    this.write(line);
  }

  /** Runs one step, timing it; a failure is recorded, printed and re-thrown (later steps need it). */
  async step<T>(id: number, title: string, fn: () => Promise<T>): Promise<T> {
    this.write('');
    this.write(`[${id}/${this.total}] ${title}`);
    const t0 = performance.now();
    const seconds = () => Number(((performance.now() - t0) / 1000).toFixed(2));
    try {
      const value = await fn();
      this.steps.push({ id, title, ok: true, seconds: seconds() });
      this.say(`ok (${seconds().toFixed(1)} s)`);
      return value;
    } catch (e) {
      const error = errorMessage(e);
      this.steps.push({ id, title, ok: false, seconds: seconds(), error });
      this.say(`FAILED after ${seconds().toFixed(1)} s: ${error}`);
      throw e;
    }
  }
}

export function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

export function kib(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(1)} MiB`
    : `${(bytes / 1024).toFixed(0)} KiB`;
}

/** A path as the user would type it: relative to the working directory when inside it. */
export function shownPath(p: string): string {
  const r = path.relative(process.cwd(), p);
  return r === '' ? '.' : r.startsWith('..') || path.isAbsolute(r) ? p : r;
}
