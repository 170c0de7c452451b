/**
 * An inference session on the engine, shaped like onnxruntime's: inputs and outputs by name as
 * `{ data: Float32Array, dims }` (an `ort.Tensor` fits), NCHW in and out. One kernel instance and
 * wasm memory per session; the plan for a batch size is built on first use and reused.
 */
import { EdgetuneError } from '../errors.ts';
import type { WeightSnapshot } from './artifact.ts';
import { decodeModel, type ModelProto, toNumber } from '../onnx/proto.ts';
import { Compiler } from './compile.ts';
import { PersistentRegion, type Plan, type PlacedTensor } from './layout.ts';
import { ModelConstants } from './constants.ts';
import type { KernelModules, Kernels, KernelVariant } from './kernels.ts';
import { giveBackKernels, takeKernels } from './spare-kernels.ts';
import { describeUnsupported, prepareForEngine, supportsPrepared } from './supports.ts';

export interface EngineTensor {
  data: Float32Array;
  dims: readonly number[];
}

/** Options of `createEngineSession`. */
export interface CreateOptions {
  /**
   * When given, milliseconds per start-up phase are added to it (`prepare`, `supports`,
   * `constants`, `plan`): what the cold-start bench reports phase by phase.
   */
  phases?: Map<string, number>;
  /**
   * The weights as an earlier compile of the same graph stored them (an engine artifact,
   * artifact.ts): copied into memory in one go instead of packed. When the graph asks for a
   * weight the snapshot lacks, the snapshot is not used (`onWeightsRefused` says why) and the
   * session is compiled as without it.
   */
  weights?: WeightSnapshot;
  onWeightsRefused?: (reason: string) => void;
  /**
   * The model is an engine artifact's graph, its packed weights' codes emptied (artifact.ts):
   * every weight must be in `weights`. One that is not fails the session, or a later batch's plan,
   * with 'unsupported' — it is never packed from the emptied codes, nor compiled without `weights`.
   */
  weightless?: boolean;
  /** Called once with what the compiler stored for the declared shape (to write an artifact). */
  onWeights?: (snapshot: WeightSnapshot) => void;
}

export interface RunOptions {
  /** When given, milliseconds per op type are added to it (performance.now around each step). */
  timings?: Map<string, number>;
}

export interface EngineSession {
  readonly variant: KernelVariant;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Bytes of wasm linear memory the session holds (weights + activation arena). */
  readonly heapBytes: number;
  run(
    feeds: Readonly<Record<string, EngineTensor>>,
    options?: RunOptions,
  ): Promise<Record<string, EngineTensor>>;
  runSync(feeds: Readonly<Record<string, EngineTensor>>, options?: RunOptions): Record<string, EngineTensor>;
  release(): void;
}

function inputDims(model: ModelProto, name: string): (number | undefined)[] {
  const vi = model.graph?.input?.find((i) => i.name === name);
  return (vi?.type?.tensorType?.shape?.dim ?? []).map((d) =>
    d.dimParam || !Object.hasOwn(d, 'dimValue') ? undefined : toNumber(d.dimValue),
  );
}

/** Reads one placed tensor back out in ONNX (NCHW) order. */
function readOut(mem: ArrayBuffer, base: number, t: PlacedTensor): EngineTensor {
  const src = new Float32Array(mem, base + t.st.offset, t.n * t.h * t.w * t.cs);
  const hw = t.h * t.w;
  const data = new Float32Array(t.n * t.c * hw);
  for (let n = 0; n < t.n; n++) {
    const s = n * hw * t.cs;
    const d = n * t.c * hw;
    if (hw === 1) data.set(src.subarray(s, s + t.c), d);
    else
      for (let c = 0; c < t.c; c++)
        for (let p = 0; p < hw; p++) data[d + c * hw + p] = src[s + p * t.cs + c]!;
  }
  return { data, dims: t.rank === 4 ? [t.n, t.c, t.h, t.w] : [t.n, t.c] };
}

export async function createEngineSession(
  modelOrBytes: ModelProto | Uint8Array,
  kernels: KernelModules,
  options: CreateOptions = {},
): Promise<EngineSession> {
  const model = modelOrBytes instanceof Uint8Array ? decodeModel(modelOrBytes) : modelOrBytes;
  // A spare instance (memory already mapped in, spare-kernels.ts) when there is one; the
  // instance goes back to the spares when the session is released.
  const open = (o: CreateOptions): EngineSession => {
    const k = takeKernels(kernels);
    let released = false;
    let session: EngineSession;
    try {
      session = openEngineSession(model, k, o);
    } catch (e) {
      giveBackKernels(kernels, k);
      throw e;
    }
    return {
      ...session,
      get heapBytes() {
        return session.heapBytes;
      },
      release: () => {
        if (released) return;
        released = true;
        session.release();
        giveBackKernels(kernels, k);
      },
    };
  };
  if (options.weights) {
    try {
      return open(options);
    } catch (e) {
      if (!(e instanceof StaleWeightsError) || options.weightless) throw e;
      options.onWeightsRefused?.(e.message);
    }
  }
  return open({ ...options, weights: undefined });
}

/** A weight snapshot that does not cover the graph it was given for. */
class StaleWeightsError extends Error {}

/**
 * `createEngineSession` on kernels already instantiated, synchronously: what the Worker's global
 * scope can call (it cannot wait for promises to settle), see warmup.ts.
 */
export function openEngineSession(
  modelOrBytes: ModelProto | Uint8Array,
  kernels: Kernels,
  options: CreateOptions = {},
): EngineSession {
  const phases = options.phases;
  let mark = performance.now();
  const phase = (name: string) => {
    if (!phases) return;
    const now = performance.now();
    phases.set(name, (phases.get(name) ?? 0) + now - mark);
    mark = now;
  };
  // Exporters' constant plumbing (Constant/Identity weights, shape arithmetic) is folded and zero
  // Pads before convs (Keras ZeroPadding2D) become the convs' own pads, once; the support check
  // then looks at that same graph.
  const model = prepareForEngine(
    modelOrBytes instanceof Uint8Array ? decodeModel(modelOrBytes) : modelOrBytes,
  );
  phase('prepare');
  const consts = new ModelConstants(model);
  phase('constants');
  const report = supportsPrepared(model, consts);
  if (!report.ok) {
    throw new EdgetuneError('unsupported', `engine cannot run this model: ${describeUnsupported(report)}`);
  }
  phase('supports');
  const { variant, exports: k } = kernels;
  const persist = new PersistentRegion(k);
  if (options.weights) {
    persist.restore(options.weights);
    phase('restore');
  }
  if (options.weightless) {
    if (!options.weights)
      throw new EdgetuneError('unsupported', 'engine: a graph without weights needs its artifact');
    persist.sealed = true;
  }
  const inputNames = (model.graph?.input ?? []).map((i) => i.name ?? '').filter((n) => !consts.has(n));
  const outputNames = (model.graph?.output ?? []).map((o) => o.name ?? '');
  const plans = new Map<number, Plan>();

  const planFor = (dims: Map<string, readonly number[]>): Plan => {
    const batch = dims.get(inputNames[0]!)?.[0] ?? 1;
    let plan = plans.get(batch);
    if (!plan) {
      const specs = inputNames.map((name) => ({ name, dims: [...dims.get(name)!] }));
      plan = new Compiler(model, consts, k, persist).compile(specs);
      persist.ensure(plan.base + plan.arenaBytes);
      plans.set(batch, plan);
    }
    return plan;
  };

  // Plan (and write the weights) now for the model's declared shape, batch 1 when symbolic.
  const declared = new Map<string, number[]>();
  for (const name of inputNames) {
    const d = inputDims(model, name);
    if (d.slice(1).some((v) => v === undefined)) {
      throw new EdgetuneError('unsupported', `engine: input ${name} needs static non-batch dims`);
    }
    declared.set(
      name,
      d.map((v, i) => (i === 0 ? (v ?? 1) : v!)),
    );
  }
  planFor(declared);
  if (options.weights && persist.packed > 0) {
    throw new StaleWeightsError(
      `engine artifact lacks ${persist.packed} of the graph's weights: compiled from the ONNX file instead`,
    );
  }
  options.onWeights?.(persist.snapshot());
  phase('plan');

  let released = false;
  const runSync = (feeds: Readonly<Record<string, EngineTensor>>, options?: RunOptions) => {
    // A released session's memory may already serve another session (spare-kernels.ts).
    if (released) throw new Error('engine: the session was released');
    const dims = new Map<string, readonly number[]>();
    for (const name of inputNames) {
      const feed = feeds[name];
      if (!feed) throw new EdgetuneError('invalid_tensor', `missing input '${name}'`);
      if (!(feed.data instanceof Float32Array))
        throw new EdgetuneError('invalid_tensor', `input '${name}' must be float32`);
      const want = declared.get(name)!;
      const ok =
        feed.dims.length === want.length &&
        feed.dims.every((d, i) => i === 0 || d === want[i]) &&
        Number.isInteger(feed.dims[0]) &&
        feed.dims[0]! >= 1 &&
        feed.data.length === feed.dims.reduce((a, b) => a * b, 1);
      if (!ok) {
        throw new EdgetuneError(
          'invalid_tensor',
          `input '${name}' has dims [${feed.dims}], expected [N,${want.slice(1)}]`,
        );
      }
      dims.set(name, feed.dims);
    }
    const plan = planFor(dims);
    const mem = k.memory.buffer;
    for (const name of inputNames) {
      const { staging } = plan.inputs.get(name)!;
      const data = feeds[name]!.data;
      new Float32Array(mem, plan.base + staging, data.length).set(data);
    }
    const timings = options?.timings;
    if (timings) {
      for (const step of plan.steps) {
        const t0 = performance.now();
        step.run();
        timings.set(step.op, (timings.get(step.op) ?? 0) + performance.now() - t0);
      }
    } else {
      for (const step of plan.steps) step.run();
    }
    const out: Record<string, EngineTensor> = {};
    for (const name of outputNames) out[name] = readOut(k.memory.buffer, plan.base, plan.outputs.get(name)!);
    return out;
  };

  return {
    variant,
    inputNames,
    outputNames,
    get heapBytes() {
      return k.memory.buffer.byteLength;
    },
    runSync,
    run: async (feeds, options) => runSync(feeds, options),
    release: () => {
      released = true;
      plans.clear();
    },
  };
}
