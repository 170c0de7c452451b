/**
 * The load and soak run behind `npm run load` and tests/node/load/load.test.ts: the Worker in
 * workerd (startLocalEdge over a temporary file store, loopback only), N concurrent clients, admin
 * changes every few seconds, a corrupt version published mid-run. Bounded by a request count and a
 * wall-clock limit; everything it starts is stopped and its temporary folder removed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { KernelInstanceCounts } from '../../shared/engine/spare-kernels.ts';
import { ENGINES } from '../../shared/inference/engines.ts';
import type { ModelStats } from '../../shared/metrics/summary.ts';
import { createRng } from '../../shared/random.ts';
import { startLocalEdge } from '../../local-edge/local-edge.ts';
import { FileStore } from '../../shared/store/node/file.ts';
import { percentile, round } from '../stats.ts';
import { type HeapReading, IsolateInspector } from './inspector.ts';
import {
  adminStep,
  CORRUPT,
  type LoadModel,
  MODELS,
  type Mode,
  planRequest,
  publishCorrupt,
  publishModels,
} from './scenario.ts';

export interface LoadOptions {
  requests: number;
  clients: number;
  /** Milliseconds between admin changes (each alternates models): the soak's operator. */
  adminEveryMs?: number;
  /**
   * Instead of a timer: the client that claims request index k·n (k ≥ 1) makes the k-th admin
   * change before sending it, while the other clients keep going. The number of changes is then
   * fixed by the request count, whatever the machine's speed (what a test can assert on).
   */
  adminEveryRequests?: number;
  /** Fraction of the requests after which the corrupt version is published. */
  corruptAfter: number;
  /** Hard wall-clock limit: clients stop starting requests after it. */
  maxSeconds: number;
  /** MODEL_CACHE_MB for the run: small enough that versions evict each other (session churn). */
  cacheMb: number;
  progress?: (line: string) => void;
}

/** What happened to each request. */
export interface Outcome {
  model: LoadModel;
  mode: Mode;
  pinned?: string;
  status: number;
  code?: string;
  /** The version the response names (header and body agree), or the pinned one for an error. */
  version: string | null;
  route: string | null;
  engine: string | null;
  ms: number;
  /** True when the body's version and `x-model-version` agree and name a published version. */
  namesRealVersion: boolean;
}

export interface VersionRow {
  model: string;
  version: string;
  engine: string;
  requests: number;
  byRoute: Record<string, number>;
  byStatus: Record<string, number>;
  p50: number;
  p95: number;
  p99: number;
  /** What the edge's own metrics counted for this version (GET /admin/models/{name}/stats). */
  edgeCounted: number;
}

export interface LoadReport {
  options: Omit<LoadOptions, 'progress'>;
  completed: number;
  seconds: number;
  throughput: number;
  rows: VersionRow[];
  errorsByStatus: Record<string, number>;
  /** 500 checksum_mismatch from requests pinned to the corrupt version: expected, documented. */
  expectedCorrupt: number;
  unexpected5xx: number;
  unexpected4xx: number;
  /** Requests sent again once because a reused keep-alive connection was closed under them. */
  retriedClosedConnections: number;
  /** Requests that got no HTTP answer (status 0 in the rows). */
  transportErrors: number;
  unnamed: number;
  fallbacks: number;
  admin: { ok: number; failed: Record<string, number> };
  logLines: number;
  /** The isolate's session cache at the end (GET /admin/cache): loads and evictions over the run. */
  cache: {
    loads: number;
    evictions: number;
    residentEngineSessions: number;
    residentOrtSessions: number;
    /** What became of the engine's kernel instances (shared/engine/spare-kernels.ts). */
    kernels: KernelInstanceCounts;
  };
  heap: { start: HeapReading; warm: HeapReading; end: HeapReading };
}

const ADMIN_TOKEN = 'load-admin-token';
const INFERENCE_LOG = '{"event":"inference"';

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const say = options.progress ?? (() => undefined);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'edgetune-load-'));
  // Count the Worker's per-request log lines instead of printing thousands of them.
  let logLines = 0;
  const onWorkerOutput = (line: string) => {
    if (line.startsWith(INFERENCE_LOG)) logLines++;
    else process.stderr.write(`${line}\n`);
  };
  let edge: Awaited<ReturnType<typeof startLocalEdge>> | undefined;
  let inspector: IsolateInspector | undefined;
  try {
    const store = new FileStore(path.join(dir, 'store'));
    await publishModels(store);
    edge = await startLocalEdge(store, {
      port: 0,
      persistDir: path.join(dir, 'r2'),
      adminToken: ADMIN_TOKEN,
      syncIntervalMs: 500,
      inspectorPort: 0,
      onWorkerOutput,
      // load-b@v2 runs only on onnxruntime-web: the full Worker build serves it.
      build: 'full',
      vars: { ROUTING_TTL_SECONDS: '1', METRICS_FLUSH_SECONDS: '2', MODEL_CACHE_MB: String(options.cacheMb) },
    });
    const base = edge.url;
    let retried = 0;
    inspector = await IsolateInspector.connect(edge.mf, 'edgetune');
    const start = await inspector.read();

    const published: Record<LoadModel, Set<string>> = {
      'load-a': new Set(['v1', 'v2']),
      'load-b': new Set(['v1', 'v2']),
    };
    const pinnable = (m: LoadModel) => [...published[m]];

    const send = async (req: ReturnType<typeof planRequest>): Promise<Outcome> => {
      const url = `/v1/models/${req.model}${req.pinned ? `/versions/${req.pinned}` : ''}/${req.endpoint}`;
      const headers: Record<string, string> = { 'content-type': req.image.contentType };
      if (req.userKey) headers['x-user-key'] = req.userKey;
      const t0 = performance.now();
      let res: Response | undefined;
      let body: { version?: string; error?: { code: string } } = {};
      const attempt = async () => {
        res = await fetch(new URL(url, base), {
          method: 'POST',
          headers,
          body: req.image.bytes as Uint8Array<ArrayBuffer>,
          signal: AbortSignal.timeout(60_000),
        });
        body = parseAnswer(await res.text());
      };
      try {
        try {
          await attempt();
        } catch (e) {
          // A pooled keep-alive connection the server closed as it was reused: no byte of an
          // answer came back, so the request is sent again once, as browsers do; counted.
          if (!isClosedConnection(e)) throw e;
          retried++;
          await attempt();
        }
      } catch (e) {
        // No HTTP answer at all (connection reset, timeout): reported apart from statuses.
        const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : String(e);
        const o: Outcome = {
          model: req.model,
          mode: req.mode,
          pinned: req.pinned,
          status: 0,
          code: `transport: ${cause}`.slice(0, 120),
          version: req.pinned ?? null,
          route: null,
          engine: null,
          ms: performance.now() - t0,
          namesRealVersion: false,
        };
        return o;
      }
      if (!res) throw new Error('unreachable: no response after a successful attempt');
      const ms = performance.now() - t0;
      const header = res.headers.get('x-model-version');
      const named = res.ok && header !== null && body.version === header && published[req.model].has(header);
      return {
        model: req.model,
        mode: req.mode,
        pinned: req.pinned,
        status: res.status,
        code: body.error?.code,
        version: res.ok ? header : (req.pinned ?? null),
        route: res.headers.get('x-model-route'),
        engine: res.headers.get('x-engine'),
        ms,
        namesRealVersion: named,
      };
    };

    // Every version once (pinned) so that "warm" has all four sessions resident.
    for (const model of MODELS)
      for (const v of ['v1', 'v2'])
        await send({
          model,
          endpoint: 'classify',
          mode: 'pinned',
          pinned: v,
          image: planRequest(0, () => 0, pinnable).image,
        });
    const warm = await inspector.read();
    say(`edge at ${base.href}; warm: wasm ${mb(warm.wasmHeapBytes)} MB, JS ${mb(warm.jsHeapBytes)} MB`);

    const rng = createRng(2026);
    const outcomes: Outcome[] = [];
    const deadline = Date.now() + options.maxSeconds * 1000;
    let next = 0;
    let corruptState: 'pending' | 'publishing' | 'done' = 'pending';
    const admin = { ok: 0, failed: {} as Record<string, number> };
    let running = true;

    const publishCorruptNow = async () => {
      corruptState = 'publishing';
      say(`${outcomes.length} requests done: publishing corrupt ${CORRUPT.model}@${CORRUPT.version}`);
      await serially(async () => {
        await publishCorrupt(store, new FileStore(path.join(dir, 'scratch')));
        await edge!.sync();
        // Routed traffic too: the canary weight sends some requests to it, which must fall back.
        await adminCall(`/admin/models/${CORRUPT.model}/rollout`, { version: CORRUPT.version, weight: 20 });
      });
      const wait = Date.now() + 30_000;
      while (Date.now() < wait) {
        const r = await fetch(new URL(`/v2/models/${CORRUPT.model}/versions/${CORRUPT.version}`, base));
        await r.arrayBuffer();
        // Visible once its manifest is readable; its metadata answers 500 (it cannot be loaded).
        if (r.status !== 404) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      published[CORRUPT.model].add(CORRUPT.version);
      // A few requests pinned to it at once, so every run (however short) sees its status.
      for (let k = 0; k < 3; k++) {
        const probe = planRequest(k, rng, pinnable);
        outcomes.push(
          await send({
            ...probe,
            model: CORRUPT.model,
            mode: 'pinned',
            pinned: CORRUPT.version,
            userKey: undefined,
          }),
        );
      }
      corruptState = 'done';
    };

    const adminCall = async (p: string, body: unknown) => {
      let status: number;
      try {
        status = await postOnFreshConnection(new URL(p, base), ADMIN_TOKEN, body);
      } catch (e) {
        // Not retried: a routing change may have been applied before the connection dropped.
        const why = e instanceof Error && 'code' in e ? `no answer (${String(e.code)})` : 'no answer';
        admin.failed[why] = (admin.failed[why] ?? 0) + 1;
        return;
      }
      if (status >= 200 && status < 300) admin.ok++;
      else admin.failed[String(status)] = (admin.failed[String(status)] ?? 0) + 1;
    };
    // One operator: routing changes (and the corrupt publish, which writes beside them) run one at
    // a time, so the routing compare-and-swap never sees two of ours at once.
    let adminQueue: Promise<unknown> = Promise.resolve();
    const serially = <T>(f: () => Promise<T>): Promise<T> => {
      const run = adminQueue.then(f);
      adminQueue = run.catch(() => undefined);
      return run;
    };

    let adminChanges = 0;
    const adminChange = () =>
      serially(async () => {
        const n = adminChanges++;
        const model = MODELS[n % MODELS.length]!;
        const { path: p, body } = adminStep(model, Math.floor(n / MODELS.length));
        await adminCall(p, body);
      });
    const everyMs = options.adminEveryMs;
    const adminLoop = (async () => {
      if (everyMs === undefined) return;
      while (running) {
        await new Promise((r) => setTimeout(r, everyMs));
        if (!running) break;
        await adminChange();
      }
    })();
    const everyRequests = options.adminEveryRequests;

    const started = performance.now();
    const client = async () => {
      while (Date.now() < deadline) {
        const i = next++;
        if (i >= options.requests) return;
        if (corruptState === 'pending' && i >= options.requests * options.corruptAfter)
          await publishCorruptNow();
        if (everyRequests !== undefined && i > 0 && i % everyRequests === 0) await adminChange();
        outcomes.push(await send(planRequest(i, rng, pinnable)));
        if (outcomes.length % 2000 === 0) say(`${outcomes.length} / ${options.requests}`);
      }
    };
    await Promise.all(Array.from({ length: options.clients }, client));
    const seconds = (performance.now() - started) / 1000;
    running = false;
    await adminLoop;
    const end = await inspector.read();
    const cacheRes = await fetch(new URL('/admin/cache', base), {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const cache = (await cacheRes.json()) as {
      loads: number;
      evictions: number;
      sessions: { engine: string }[];
      kernels: KernelInstanceCounts;
    };
    const resident = (engine: string) => cache.sessions.filter((x) => x.engine === engine).length;

    // The edge's own per-version counts (this isolate flushes before answering).
    const edgeCounts = new Map<string, number>();
    for (const model of MODELS) {
      const res = await fetch(new URL(`/admin/models/${model}/stats?window=1h`, base), {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      const stats = (await res.json()) as ModelStats;
      for (const v of stats.versions) edgeCounts.set(`${model}@${v.version}`, v.requests);
    }
    // The four warm-up requests were counted by the edge too.
    for (const model of MODELS)
      for (const v of ['v1', 'v2'])
        edgeCounts.set(`${model}@${v}`, (edgeCounts.get(`${model}@${v}`) ?? 0) - 1);

    const report = summarise(options, outcomes, seconds, admin, logLines - 4, edgeCounts, {
      start,
      warm,
      end,
    });
    return {
      ...report,
      retriedClosedConnections: retried,
      cache: {
        loads: cache.loads,
        evictions: cache.evictions,
        residentEngineSessions: resident(ENGINES.wasm),
        residentOrtSessions: resident(ENGINES.ortWeb),
        kernels: cache.kernels,
      },
    };
  } finally {
    inspector?.close();
    await edge?.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * POSTs JSON on a connection of its own (no keep-alive pool) and returns the status. A pooled
 * connection the server closes just as it is reused drops the request unanswered, and an admin
 * change cannot simply be sent again (it may have been applied): a fresh connection per change
 * makes a lost answer a real failure.
 */
function postOnFreshConnection(url: URL, token: string, body: unknown): Promise<number> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent: false,
        timeout: 60_000,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(data),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error('admin call timed out'), { code: 'TIMEOUT' })),
    );
    req.on('error', reject);
    req.end(data);
  });
}

/**
 * The edge answers JSON; an answer that is not JSON (workerd's own plain-text 500 when it cancels
 * a request it finds hung) is still an HTTP answer: counted under its status, its first words as
 * the code, never as a request without an answer.
 */
function parseAnswer(text: string): { version?: string; error?: { code: string } } {
  try {
    return JSON.parse(text) as { version?: string; error?: { code: string } };
  } catch {
    return { error: { code: `not JSON: ${text.slice(0, 60)}` } };
  }
}

function isClosedConnection(e: unknown): boolean {
  const cause = e instanceof Error ? (e.cause as { code?: string } | undefined) : undefined;
  return cause?.code === 'UND_ERR_SOCKET';
}

const mb = (b: number) => round(b / 1024 / 1024, 1);

function isExpectedCorrupt(o: Outcome): boolean {
  return (
    o.status === 500 &&
    o.code === 'checksum_mismatch' &&
    o.model === CORRUPT.model &&
    o.pinned === CORRUPT.version
  );
}

function summarise(
  options: LoadOptions,
  outcomes: Outcome[],
  seconds: number,
  admin: LoadReport['admin'],
  logLines: number,
  edgeCounts: Map<string, number>,
  heap: LoadReport['heap'],
): Omit<LoadReport, 'cache' | 'retriedClosedConnections'> {
  const groups = new Map<string, Outcome[]>();
  for (const o of outcomes) {
    const key = `${o.model}@${o.version ?? '-'}`;
    groups.set(key, [...(groups.get(key) ?? []), o]);
  }
  const count = (xs: Outcome[], f: (o: Outcome) => string | null) => {
    const out: Record<string, number> = {};
    for (const o of xs) {
      const k = f(o);
      if (k !== null) out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  };
  const rows = [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, xs]) => {
      const ms = xs.map((o) => o.ms);
      const [model, version] = key.split('@') as [string, string];
      return {
        model,
        version,
        engine: [...new Set(xs.map((o) => o.engine).filter((e) => e !== null))].join(',') || '-',
        requests: xs.length,
        byRoute: count(xs, (o) => o.route ?? (o.pinned ? 'pinned' : null)),
        byStatus: count(xs, (o) => String(o.status)),
        p50: round(percentile(ms, 50)),
        p95: round(percentile(ms, 95)),
        p99: round(percentile(ms, 99)),
        edgeCounted: edgeCounts.get(key) ?? 0,
      };
    });
  const errors = outcomes.filter((o) => o.status >= 400 || o.status === 0);
  const { progress: _, ...opts } = options;
  return {
    options: opts,
    completed: outcomes.length,
    seconds: round(seconds, 1),
    throughput: round(outcomes.length / seconds, 1),
    rows,
    errorsByStatus: count(errors, (o) => `${o.status} ${o.code ?? ''}`.trim()),
    expectedCorrupt: outcomes.filter(isExpectedCorrupt).length,
    unexpected5xx: outcomes.filter((o) => o.status >= 500 && !isExpectedCorrupt(o)).length,
    unexpected4xx: errors.filter((o) => o.status >= 400 && o.status < 500).length,
    transportErrors: outcomes.filter((o) => o.status === 0).length,
    unnamed: outcomes.filter((o) => o.status > 0 && o.status < 400 && !o.namesRealVersion).length,
    fallbacks: outcomes.filter((o) => o.route === 'fallback').length,
    admin,
    logLines,
    heap,
  };
}
