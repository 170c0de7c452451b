/**
 * The Worker's global-scope start-up time per build, as `wrangler check startup` measures it:
 * wrangler bundles the Worker, starts it in workerd with the inspector attached and writes a CPU
 * profile of the start-up phase (script compile + top-level evaluation; Workers allow 1 s). The
 * figure is the profile's non-idle sample time. It runs on this machine's CPU, not Cloudflare's.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { runWrangler, type WorkerBuild, wranglerEnv } from '../local-edge/bundle.ts';
import { median, round } from './stats.ts';

const CpuProfile = z.object({
  nodes: z.array(z.object({ id: z.number(), callFrame: z.object({ functionName: z.string() }) })),
  startTime: z.number(),
  endTime: z.number(),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});

export interface StartupResult {
  /** Median CPU ms of the start-up phase (non-idle profile samples). */
  median_ms: number;
  samples_ms: number[];
  /** Median wall span of the profile, idle included. */
  profile_span_ms: number;
}

/** Profiles the start-up of one build `samples` times (each a fresh workerd). */
export async function workerStartup(build: WorkerBuild, samples: number): Promise<StartupResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'edgetune-startup-'));
  const cpu: number[] = [];
  const span: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const outfile = path.join(dir, `${build}-${i}.cpuprofile`);
      await runWrangler(
        ['check', 'startup', `--env=${wranglerEnv(build)}`, '--outfile', outfile],
        'wrangler check startup',
      );
      const p = CpuProfile.parse(JSON.parse(await readFile(outfile, 'utf8')));
      const idle = new Set(p.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
      let busyUs = 0;
      p.samples.forEach((id, k) => {
        if (!idle.has(id)) busyUs += p.timeDeltas[k] ?? 0;
      });
      cpu.push(round(busyUs / 1000));
      span.push((p.endTime - p.startTime) / 1000);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { median_ms: round(median(cpu)), samples_ms: cpu, profile_span_ms: round(median(span)) };
}
