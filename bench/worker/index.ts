/**
 * Bench-only Worker (never deployed; see bench/worker/wrangler.toml). It uses the production
 * onnxruntime-web setup (functions/runtime/ort.ts) and the production engine setup (functions/runtime/backends.ts:
 * the edgetune wasm engine with its kernels imported as precompiled modules), and times, inside the
 * isolate, what a cold and a warm request do: read the model from R2, create the session, run it.
 * It also reports the wasm linear memory: onnxruntime-web's (found by observing its instantiate
 * call) plus every engine session's own memory.
 *
 *   GET  /clock?iterations=N                      busy work; in-isolate clock deltas (does the clock advance?)
 *   POST /load?key=K&id=I&dims=1,3,224,224&options={...}&warmup=0|1&engine=0|1
 *                                                 R2 get + session create + first run (+ warm-up run);
 *                                                 engine=1: the edgetune engine instead of onnxruntime-web
 *   POST /run?id=I&n=30&dims=...&group=G&profile=0|1
 *                                                 n samples of G runs each, ms per run (engine,
 *                                                 profile=1: ms per op type)
 *   POST /cold?key=K&image=I&spec=S               a cold request's start-up phase by phase (cold.ts)
 *   POST /release?id=I                            release a session
 *   GET  /heap                                    wasm heap bytes
 */
import { kernelModules } from '../../functions/runtime/backends.ts';
import { getOrt, type OrtSession } from '../../functions/runtime/ort.ts';
import { createEngineSession, type EngineSession } from '../../shared/engine/index.ts';
import { decodeModel } from '../../shared/onnx/proto.ts';
import { coldPhases } from './cold.ts';

interface Env {
  MODELS: R2Bucket;
}

const memories: WebAssembly.Memory[] = [];

function collect(o: unknown): void {
  if (!o || typeof o !== 'object') return;
  for (const v of Object.values(o)) {
    if (v instanceof WebAssembly.Memory) {
      if (!memories.includes(v)) memories.push(v);
    } else if (v && typeof v === 'object' && !(v instanceof WebAssembly.Module)) {
      for (const w of Object.values(v))
        if (w instanceof WebAssembly.Memory && !memories.includes(w)) memories.push(w);
    }
  }
}

let observed = false;
/** Time spent in WebAssembly.instantiate (part of onnxruntime-web's start-up). */
let instantiateMs = 0;
/** Installed before getOrt() runs, so ort.ts's interception forwards the real instantiate through here. */
function observeInstantiate(): void {
  if (observed) return;
  observed = true;
  type Instantiate = (source: unknown, imports?: WebAssembly.Imports) => Promise<unknown>;
  const original = WebAssembly.instantiate.bind(WebAssembly) as Instantiate;
  (WebAssembly as { instantiate: unknown }).instantiate = async (
    source: unknown,
    imports?: WebAssembly.Imports,
  ) => {
    const t = performance.now();
    const result = await original(source, imports);
    instantiateMs += performance.now() - t;
    const instance =
      result instanceof WebAssembly.Instance
        ? result
        : (result as { instance?: WebAssembly.Instance }).instance;
    collect(imports);
    collect(instance?.exports);
    return result;
  };
}

const engines = new Map<string, EngineSession>();
const heapBytes = () =>
  memories.reduce((s, m) => s + m.buffer.byteLength, 0) +
  [...engines.values()].reduce((s, e) => s + e.heapBytes, 0);
const sessions = new Map<string, OrtSession>();

function input(ort: Awaited<ReturnType<typeof getOrt>>, dims: number[]) {
  const n = dims.reduce((a, b) => a * b, 1);
  // Deterministic values in 0..1 (what preprocessed images hold).
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = ((i * 2654435761) >>> 0) / 4294967296;
  return new ort.Tensor('float32', data, dims);
}

const dimsOf = (url: URL) => (url.searchParams.get('dims') ?? '1,3,224,224').split(',').map(Number);

function engineInput(dims: number[]) {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = ((i * 2654435761) >>> 0) / 4294967296;
  return { data, dims };
}

/** The engine path of /load: the same steps as the production cache (decode, supports, create). */
async function loadEngine(url: URL, env: Env): Promise<Response> {
  const key = url.searchParams.get('key') ?? '';
  const t0 = performance.now();
  const obj = await env.MODELS.get(key);
  if (!obj) return Response.json({ error: `no ${key}` }, { status: 404 });
  const bytes = new Uint8Array(await obj.arrayBuffer());
  const t1 = performance.now();
  const model = decodeModel(bytes);
  const t2 = performance.now();
  const session = await createEngineSession(model, kernelModules());
  const t3 = performance.now();
  const feeds = { [session.inputNames[0]!]: engineInput(dimsOf(url)) };
  session.runSync(feeds);
  const t4 = performance.now();
  let warmupMs: number | undefined;
  if (url.searchParams.get('warmup') === '1') {
    session.runSync(feeds);
    warmupMs = performance.now() - t4;
  }
  engines.set(url.searchParams.get('id') ?? key, session);
  return Response.json({
    variant: session.variant,
    instantiateMs: 0,
    readMs: t1 - t0,
    // Session creation as the production cache does it: decode the graph, then plan + repack.
    decodeMs: t2 - t1,
    createMs: t3 - t1,
    firstRunMs: t4 - t3,
    warmupMs,
    bytes: bytes.byteLength,
    heapBytes: heapBytes(),
    sessionHeapBytes: session.heapBytes,
  });
}

async function load(url: URL, env: Env): Promise<Response> {
  if (url.searchParams.get('engine') === '1') return loadEngine(url, env);
  const t0 = performance.now();
  const ort = await getOrt();
  const t1 = performance.now();
  const key = url.searchParams.get('key') ?? '';
  const obj = await env.MODELS.get(key);
  if (!obj) return Response.json({ error: `no ${key}` }, { status: 404 });
  const bytes = new Uint8Array(await obj.arrayBuffer());
  const t2 = performance.now();
  const options = JSON.parse(url.searchParams.get('options') ?? '{}') as Record<string, unknown>;
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], ...options });
  const t3 = performance.now();
  const feeds = { [session.inputNames[0]!]: input(ort, dimsOf(url)) };
  await session.run(feeds);
  const t4 = performance.now();
  let warmupMs: number | undefined;
  if (url.searchParams.get('warmup') === '1') {
    await session.run(feeds);
    warmupMs = performance.now() - t4;
  }
  sessions.set(url.searchParams.get('id') ?? key, session);
  return Response.json({
    ortInitMs: t1 - t0,
    instantiateMs,
    readMs: t2 - t1,
    createMs: t3 - t2,
    firstRunMs: t4 - t3,
    warmupMs,
    bytes: bytes.byteLength,
    heapBytes: heapBytes(),
  });
}

/**
 * Runs per timed sample. workerd's clock ticks in whole milliseconds, so a model that runs in
 * ~1 ms is timed over a group of runs (the sample is the group's mean).
 */
const groupOf = (url: URL) => Math.max(1, Math.min(1000, Number(url.searchParams.get('group') ?? '1') || 1));

function runEngine(url: URL, engine: EngineSession): Response {
  const n = Number(url.searchParams.get('n') ?? '30');
  const feeds = { [engine.inputNames[0]!]: engineInput(dimsOf(url)) };
  const profile = url.searchParams.get('profile') === '1';
  const timings = new Map<string, number>();
  const group = groupOf(url);
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    for (let j = 0; j < group; j++) engine.runSync(feeds, profile ? { timings } : undefined);
    times.push((performance.now() - t) / group);
  }
  const opsMs = Object.fromEntries([...timings].map(([op, ms]) => [op, ms / (n * group)]));
  return Response.json({ times, heapBytes: heapBytes(), ...(profile ? { opsMs } : {}) });
}

async function run(url: URL): Promise<Response> {
  const engine = engines.get(url.searchParams.get('id') ?? '');
  if (engine) return runEngine(url, engine);
  const ort = await getOrt();
  const session = sessions.get(url.searchParams.get('id') ?? '');
  if (!session) return Response.json({ error: 'not loaded' }, { status: 404 });
  const n = Number(url.searchParams.get('n') ?? '30');
  const feeds = { [session.inputNames[0]!]: input(ort, dimsOf(url)) };
  const group = groupOf(url);
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    for (let j = 0; j < group; j++) await session.run(feeds);
    times.push((performance.now() - t) / group);
  }
  return Response.json({ times, heapBytes: heapBytes() });
}

function clock(url: URL): Response {
  const iterations = Number(url.searchParams.get('iterations') ?? '20000000');
  const p0 = performance.now();
  const d0 = Date.now();
  let x = 0;
  for (let i = 0; i < iterations; i++) x = (x + Math.sqrt(i)) % 1e9;
  return Response.json({ perfMs: performance.now() - p0, dateMs: Date.now() - d0, x });
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    observeInstantiate();
    const url = new URL(request.url);
    try {
      switch (url.pathname) {
        case '/clock':
          return clock(url);
        case '/load':
          return await load(url, env);
        case '/cold':
          return await coldPhases(url, env);
        case '/run':
          return await run(url);
        case '/release': {
          const id = url.searchParams.get('id') ?? '';
          await sessions.get(id)?.release();
          sessions.delete(id);
          engines.get(id)?.release();
          engines.delete(id);
          return Response.json({ heapBytes: heapBytes() });
        }
        case '/heap':
          return Response.json({ heapBytes: heapBytes() });
        default:
          return new Response('not found', { status: 404 });
      }
    } catch (e) {
      return Response.json(
        { error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) },
        { status: 500 },
      );
    }
  },
} satisfies ExportedHandler<Env>;
