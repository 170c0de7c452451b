/**
 * Progress for long training work: a cli-progress bar when stderr is a terminal, plain lines
 * otherwise (CI logs, pipes). Library functions take a `Progress` so the CLI, the retraining
 * worker and tests can each decide where the output goes; stdout is never used (it carries the
 * `--json` result).
 */
import cliProgress from 'cli-progress';

export interface ProgressTask {
  /** Advance by `n` (default 1); `note` is shown next to the bar (e.g. the current loss). */
  tick(n?: number, note?: string): void;
  done(note?: string): void;
}

export interface Progress {
  log(message: string): void;
  task(label: string, total: number): ProgressTask;
}

const noopTask: ProgressTask = { tick() {}, done() {} };

export const silentProgress: Progress = { log() {}, task: () => noopTask };

/** Progress on a stream (stderr by default): bars on a TTY, otherwise a line per ~10% and at the end. */
export function streamProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true && process.env.CI === undefined;
  const line = (m: string) => stream.write(`${m}\n`);
  return {
    log: line,
    task(label, total) {
      const started = Date.now();
      if (tty) {
        const bar = new cliProgress.SingleBar(
          {
            stream,
            format: `${label} [{bar}] {value}/{total} {note}`,
            hideCursor: true,
            clearOnComplete: false,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Math.max(total, 1), 0, { note: '' });
        return {
          tick(n = 1, note = '') {
            bar.increment(n, { note });
          },
          done(note = '') {
            bar.update(Math.max(total, 1), { note });
            bar.stop();
          },
        };
      }
      let value = 0;
      let lastStep = -1;
      return {
        tick(n = 1, note = '') {
          value += n;
          const step = total > 0 ? Math.floor((value / total) * 10) : 0;
          if (step !== lastStep && step < 10) {
            lastStep = step;
            if (value > 0) line(`${label}: ${value}/${total}${note ? ` ${note}` : ''}`);
          }
        },
        done(note = '') {
          const s = ((Date.now() - started) / 1000).toFixed(1);
          line(`${label}: done ${total}/${total} in ${s} s${note ? ` ${note}` : ''}`);
        },
      };
    },
  };
}
