/**
 * The edge's photo preprocessing in workerd, in CPU time and page faults per request (Linux /proc
 * of the workerd process: schedstat of every thread, minor faults), next to sharp's decode +
 * rotate + resize in CPU time of this process (libvips' threads included), alternating, for the
 * four files of the photo table. CPU time, unlike the bench's server-timing wall clock, stays
 * meaningful on a machine shared with other work; the faults show memory that is new to the
 * process on every request (see shared/preprocess/release.ts). Each request is followed by the
 * same upload to `?baseline`, which only receives it: the preprocessing is the difference.
 * Medians of PHOTO_CPU_RUNS (15) after 5 warm-ups per file in one workerd process.
 *
 *   node --no-warnings --import tsx bench/photo-cpu.ts
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../local-edge/bundle.ts';
import { photoBenchFiles, sharpPreprocess } from './photo-files.ts';
import { median } from './stats.ts';
import { bundle, startInstance } from './workerd.ts';

const RUNS = Number(process.env.PHOTO_CPU_RUNS ?? 15);
const WARMUP = 5;

/** workerd processes below this one (Miniflare starts one). */
function workerdPids(): number[] {
  const children = (pid: number): number[] => {
    let out = '';
    try {
      out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)]).toString();
    } catch {
      return [];
    }
    return out
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .flatMap((c) => [c, ...children(c)]);
  };
  return children(process.pid).filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'workerd';
    } catch {
      return false;
    }
  });
}

/** CPU ms of all the process's threads and its minor page faults so far. */
function usage(pid: number): { cpuMs: number; faults: number } {
  let ns = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const faults = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
  return { cpuMs: ns / 1e6, faults };
}

const ownCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const dir = path.join(projectRoot, '.edgetune', 'bench', 'photo-cpu');
const worker = await bundle(
  path.join(projectRoot, 'bench', 'photo-cpu', 'wrangler.toml'),
  path.join(dir, 'build'),
);
const inst = await startInstance(worker, path.join(dir, 'r2'));
try {
  const { url } = inst;
  const [pid, ...others] = workerdPids();
  if (pid === undefined || others.length > 0) throw new Error('expected exactly one workerd process');
  const files = await photoBenchFiles();
  console.log(
    `CPU: ${os.cpus()[0]?.model.trim()}, load ${os.loadavg()[0]!.toFixed(2)}, medians of ${RUNS} after ${WARMUP} warm-ups`,
  );
  console.log(
    '| file | workerd CPU ms (request, upload alone) | page faults (request, upload alone) | preprocessing CPU ms | sharp CPU ms | ratio |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const f of files) {
    const edge = async (baseline = false) => {
      const res = await fetch(new URL(baseline ? '/?baseline' : '/', url), {
        method: 'POST',
        body: f.bytes as Uint8Array<ArrayBuffer>,
        headers: { connection: 'close' },
      });
      if (!res.ok) throw new Error(`${f.label}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    };
    for (let i = 0; i < WARMUP; i++) {
      await edge();
      await sharpPreprocess(f.bytes, 224, 224);
    }
    const cpu: number[] = [];
    const faults: number[] = [];
    const baseCpu: number[] = [];
    const baseFaults: number[] = [];
    const sharpCpu: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const a = usage(pid);
      await edge();
      const b = usage(pid);
      await edge(true);
      const c0 = usage(pid);
      cpu.push(b.cpuMs - a.cpuMs);
      faults.push(b.faults - a.faults);
      baseCpu.push(c0.cpuMs - b.cpuMs);
      baseFaults.push(c0.faults - b.faults);
      const c = ownCpuMs();
      await sharpPreprocess(f.bytes, 224, 224);
      sharpCpu.push(ownCpuMs() - c);
    }
    const [w, base, n] = [median(cpu), median(baseCpu), median(sharpCpu)];
    const pre = w - base;
    console.log(
      `| ${f.label} | ${w.toFixed(1)}, ${base.toFixed(1)} | ${median(faults).toFixed(0)}, ${median(baseFaults).toFixed(0)} | ` +
        `${pre.toFixed(1)} | ${n.toFixed(1)} | ${(pre / n).toFixed(2)}× |`,
    );
  }
} finally {
  await inst.dispose();
}
