import type { Command } from 'commander';
import { z } from 'zod';
import { EdgetuneError } from '../../../shared/errors.ts';
import { runDemo } from '../../demo/run-demo.ts';
import { WORKER_BUILDS } from '../../../local-edge/bundle.ts';
import { DEFAULT_STORE_URL } from '../../../shared/store/node/open.ts';
import { streamProgress } from '../../train/progress.ts';

const Flags = z.object({
  quick: z.boolean().optional(),
  store: z.string().min(1),
  out: z.string().min(1).optional(),
  json: z.boolean().optional(),
  build: z.enum(WORKER_BUILDS),
});

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'the whole product on embedded defaults, with real measured output: pretrain (or reuse) a backbone on mnist, ' +
        'transfer vs scratch on the OpenCV digits sheet, MobileNetV2 on photos, publish v1, the edge in workerd, ' +
        'classify/embed image files, a v2 canary with sticky keys, promote and rollback',
    )
    .option('--quick', 'smaller and faster (about a minute): a smaller backbone, fewer images and requests')
    .option('--store <url>', 'object store to publish to', process.env.EDGETUNE_STORE ?? DEFAULT_STORE_URL)
    .option('--out <dir>', "this run's folder (default .edgetune/runs/demo-<timestamp>)")
    .option('--json', 'print a JSON summary on stdout (the narration goes to stderr)')
    .option('--build <build>', 'Worker build to run: engine (default, no onnxruntime-web) or full', 'engine')
    .action(async (raw: Record<string, unknown>) => {
      const parsed = Flags.safeParse(raw);
      if (!parsed.success) {
        throw new EdgetuneError('bad_request', parsed.error.issues[0]?.message ?? 'invalid flags');
      }
      const f = parsed.data;
      const summary = await runDemo({
        quick: f.quick,
        store: f.store,
        out: f.out,
        build: f.build,
        write: (line) => (f.json ? process.stderr : process.stdout).write(`${line}\n`),
        progress: streamProgress(),
      });
      if (f.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      if (!summary.ok) process.exitCode = 1;
    });
}
