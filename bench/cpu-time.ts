/**
 * CPU time for benchmarks on a shared machine: wall time (and workerd's clock, which is wall time)
 * counts every other process's turns on the cores, CPU time only the measured process's own work.
 * Linux only (/proc).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** CPU time (ms) the process `pid` and all its threads have run, from the scheduler's ns counters. */
export function cpuMs(pid: number): number {
  let ns = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
  }
  return ns / 1e6;
}

/** The workerd process Miniflare started last (the youngest workerd child of this process). */
export function workerdPid(): number {
  let found: { pid: number; start: number } | undefined;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // fields after the command name: state, ppid, ... starttime is field 22 (index 19 here)
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const start = Number(f[19]);
      if (Number(f[1]) === process.pid && stat.includes('(workerd)') && (!found || start > found.start)) {
        found = { pid: Number(d), start };
      }
    } catch {}
  }
  if (!found) throw new Error('no workerd child process found');
  return found.pid;
}

/** This Node process's CPU time in ms (all threads: onnxruntime-node's 1 thread runs on the caller's). */
export function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
