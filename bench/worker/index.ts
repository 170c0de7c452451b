/**
 * Bench-only Worker (never deployed; see bench/worker/wrangler.toml). It uses the production
 * onnxruntime-web setup (functions/ort.ts) and times, inside the isolate, what a cold and a warm
 * request do: read the model from R2, create the session, run it. It also reports the size of
 * onnxruntime-web's wasm linear memory, which it finds by observing the one instantiate call.
 *
 *   GET  /clock?iterations=N                      busy work; in-isolate clock deltas (does the clock advance?)
 *   POST /load?key=K&id=I&dims=1,3,224,224&options={...}&warmup=0|1
 *                                                 R2 get + session create + first run (+ warm-up run)
 *   POST /run?id=I&n=30&dims=...                  n runs, per-run ms
 *   POST /release?id=I                            release a session
 *   GET  /heap                                    wasm heap bytes
 */
import { getOrt, type OrtSession } from '../../functions/ort.ts';

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

const heapBytes = () => memories.reduce((s, m) => s + m.buffer.byteLength, 0);
const sessions = new Map<string, OrtSession>();

function input(ort: Awaited<ReturnType<typeof getOrt>>, dims: number[]) {
  const n = dims.reduce((a, b) => a * b, 1);
  // Deterministic values in 0..1 (what preprocessed images hold).
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = ((i * 2654435761) >>> 0) / 4294967296;
  return new ort.Tensor('float32', data, dims);
}

const dimsOf = (url: URL) => (url.searchParams.get('dims') ?? '1,3,224,224').split(',').map(Number);

async function load(url: URL, env: Env): Promise<Response> {
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

async function run(url: URL): Promise<Response> {
  const ort = await getOrt();
  const session = sessions.get(url.searchParams.get('id') ?? '');
  if (!session) return Response.json({ error: 'not loaded' }, { status: 404 });
  const n = Number(url.searchParams.get('n') ?? '30');
  const feeds = { [session.inputNames[0]!]: input(ort, dimsOf(url)) };
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t);
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
        case '/run':
          return await run(url);
        case '/release': {
          const id = url.searchParams.get('id') ?? '';
          await sessions.get(id)?.release();
          sessions.delete(id);
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
