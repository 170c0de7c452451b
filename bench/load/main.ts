/**
 * `npm run load [-- --requests 20000 --clients 32 --admin-every 3 --max-seconds 900 --json]`:
 * the load and soak run (bench/load/run.ts), printed as tables. Exits 1 when any answer was an
 * unexpected 5xx or did not name a real version.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { type LoadReport, runLoad } from './run.ts';

const Args = z.object({
  requests: z.coerce.number().int().min(1).max(1_000_000),
  clients: z.coerce.number().int().min(1).max(256),
  'admin-every': z.coerce.number().min(0.1).max(600),
  'max-seconds': z.coerce.number().min(1).max(86_400),
  'corrupt-after': z.coerce.number().min(0).max(1),
  'cache-mb': z.coerce.number().min(1).max(4096),
  json: z.boolean(),
});

const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
const kv = (r: Record<string, number>) =>
  Object.entries(r)
    .map(([k, n]) => `${k}:${n}`)
    .join(' ');

function table(header: string[], rows: string[][]): string {
  const line = (r: string[]) => `| ${r.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function formatReport(r: LoadReport, cpu: string): string {
  const o = r.options;
  const kernels = r.cache.kernels;
  const out = [
    `${r.completed} requests (${o.clients} clients, admin change every ${o.adminEveryMs !== undefined ? `${o.adminEveryMs / 1000} s` : `${o.adminEveryRequests} requests`}, corrupt ${'load-a@v3'} after ${Math.round(o.corruptAfter * 100)} %) in ${r.seconds} s: ${r.throughput} req/s on ${cpu}`,
    '',
    table(
      [
        'model',
        'version',
        'engine',
        'requests',
        'routes',
        'status',
        'p50 ms',
        'p95 ms',
        'p99 ms',
        'edge counted',
      ],
      r.rows.map((x) => [
        x.model,
        x.version,
        x.engine,
        String(x.requests),
        kv(x.byRoute),
        kv(x.byStatus),
        String(x.p50),
        String(x.p95),
        String(x.p99),
        String(x.edgeCounted),
      ]),
    ),
    '',
    table(
      ['isolate heap', 'start (no model)', 'warm (4 versions)', 'end'],
      [
        [
          'wasm linear memory, MB',
          mb(r.heap.start.wasmHeapBytes),
          mb(r.heap.warm.wasmHeapBytes),
          mb(r.heap.end.wasmHeapBytes),
        ],
        [
          'live wasm memories',
          String(r.heap.start.wasmMemories),
          String(r.heap.warm.wasmMemories),
          String(r.heap.end.wasmMemories),
        ],
        ...(
          [
            ['engineKernels', '… of engine kernel instances'],
            ['otherInstances', '… exported by other instances (codecs)'],
            ['notExported', '… imported by their instance (onnxruntime-web)'],
          ] as const
        ).map(([key, label]) => [
          label,
          String(r.heap.start.byOwner[key]),
          String(r.heap.warm.byOwner[key]),
          String(r.heap.end.byOwner[key]),
        ]),
        [
          'JS heap after GC, MB',
          mb(r.heap.start.jsHeapBytes),
          mb(r.heap.warm.jsHeapBytes),
          mb(r.heap.end.jsHeapBytes),
        ],
      ],
    ),
    '',
    `errors by status: ${kv(r.errorsByStatus) || 'none'}`,
    `expected (pinned to the corrupt version, 500 checksum_mismatch): ${r.expectedCorrupt}; unexpected 5xx: ${r.unexpected5xx}; unexpected 4xx: ${r.unexpected4xx}; no HTTP answer: ${r.transportErrors} (sent again after a closed keep-alive connection: ${r.retriedClosedConnections})`,
    `answers not naming a real version: ${r.unnamed}; routed requests served by the fallback: ${r.fallbacks}`,
    `session cache (MODEL_CACHE_MB ${o.cacheMb}): ${r.cache.loads} loads, ${r.cache.evictions} evictions; resident at the end: ${r.cache.residentEngineSessions} engine, ${r.cache.residentOrtSessions} onnxruntime-web sessions`,
    `engine kernel instances: ${kernels.instantiated} instantiated, ${kernels.reused} reused spares, ${kernels.kept} kept as the spare, ${kernels.dropped} dropped; held at the end: ${kernels.inUse} by sessions + ${kernels.spares} spare`,
    `admin changes: ${r.admin.ok} ok${Object.keys(r.admin.failed).length ? `, failed ${kv(r.admin.failed)}` : ''}; JSON log lines: ${r.logLines}`,
  ];
  return out.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '20000' },
      clients: { type: 'string', default: '32' },
      'admin-every': { type: 'string', default: '3' },
      'max-seconds': { type: 'string', default: '900' },
      'corrupt-after': { type: 'string', default: '0.4' },
      'cache-mb': { type: 'string', default: '2' },
      json: { type: 'boolean', default: false },
    },
  });
  const parsed = Args.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(
      `--${issue.path.join('.')}: ${issue.message} (got ${JSON.stringify(values[issue.path[0] as keyof typeof values])})`,
    );
  }
  const a = parsed.data;
  // The run stops starting requests at --max-seconds; this bounds it even if an answer never comes.
  const watchdog = setTimeout(
    () => {
      process.stderr.write(`load: still running ${a['max-seconds'] + 120} s after the start; stopping\n`);
      process.exit(2);
    },
    (a['max-seconds'] + 120) * 1000,
  );
  watchdog.unref();
  const report = await runLoad({
    requests: a.requests,
    clients: a.clients,
    adminEveryMs: a['admin-every'] * 1000,
    corruptAfter: a['corrupt-after'],
    maxSeconds: a['max-seconds'],
    cacheMb: a['cache-mb'],
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  const cpu = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)}`;
  process.stdout.write(
    a.json ? `${JSON.stringify({ cpu, ...report }, null, 2)}\n` : `${formatReport(report, cpu)}\n`,
  );
  if (report.unexpected5xx > 0 || report.unnamed > 0 || report.transportErrors > 0) process.exitCode = 1;
}

main().catch((e: unknown) => {
  const cause = e instanceof Error && e.cause instanceof Error ? ` (${e.cause.message})` : '';
  process.stderr.write(`load: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}${cause}\n`);
  if (process.env.LOAD_DEBUG) console.error(e);
  process.exit(1);
});
