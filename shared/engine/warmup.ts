/**
 * Start-up warm-up of the engine. In a fresh isolate V8 runs the first session on cold code: each
 * JS function of the loading path is compiled on its first call, and each wasm kernel starts in
 * the baseline compiler (Liftoff) and is only re-compiled optimised once it has run for a while
 * (a kernel call already running stays on the baseline code). A first request then pays for
 * that: the cold-start bench (bench/int8-cold.ts) measured a first MobileNetV2 run about twice the
 * warm one. Running two tiny graphs that use every kernel family MobileNet-style models use — one
 * fp32, one QDQ int8 — through the real session code at the Worker's global scope moves that work
 * to start-up, where Workers allow no I/O but do allow instantiating precompiled modules.
 * Optimised wasm code belongs to the module, so sessions created later share it.
 */
import { GraphBuilder, int, ints } from '../onnx/builder.ts';
import { decodeModel, encodeModel, type ModelProto, TensorDataType } from '../onnx/proto.ts';
import type { WeightSnapshot } from './artifact.ts';
import { makeTensor } from '../onnx/tensor.ts';
import { instantiateKernelsSync, type KernelModules } from './kernels.ts';
import { openEngineSession } from './session.ts';
import { prepareSpareKernels, SPARE_BYTES } from './spare-kernels.ts';

const SIDE = 32;
const WIDTH = 32;

/** Deterministic weights in [-s, s) (no RNG state: the graphs are the same on every start). */
function weights(n: number, s: number, seed: number): Float32Array {
  return Float32Array.from(
    { length: n },
    (_, i) => ((((i + seed * 7919) * 2654435761) >>> 0) / 2 ** 32 - 0.5) * 2 * s,
  );
}

interface Range {
  min: number;
  max: number;
}

/**
 * One inverted-residual block and a classifier head: 3×3 stride-2 conv, depthwise 3×3, 1×1
 * projection with a residual Add, 1×1 expansion, global average pool, Gemm, Softmax. With `int8`,
 * QDQ the way training/quantize writes it: 7-bit activations (Clip, QuantizeLinear,
 * DequantizeLinear) in front of every Conv/Gemm, per-output-channel symmetric int8 weights.
 */
export function warmUpGraph(int8: boolean): ModelProto {
  const g = new GraphBuilder({
    name: int8 ? 'warmup-int8' : 'warmup',
    producer: 'edgetune-warmup',
    opset: 17,
  });
  let seed = 0;
  const act = (name: string, range: Range): string => {
    if (!int8) return name;
    const scale = (range.max - range.min) / 127;
    const zp = Math.round(-range.min / scale);
    const base = `${name}_q`;
    g.initializer(`${base}_scale`, Float32Array.of(scale), []);
    g.addTensor({ name: `${base}_zp`, dataType: TensorDataType.UINT8, dims: [], rawData: Uint8Array.of(zp) });
    g.initializer(`${base}_lo`, Float32Array.of(-zp * scale), []);
    g.initializer(`${base}_hi`, Float32Array.of((127 - zp) * scale), []);
    g.node('Clip', [name, `${base}_lo`, `${base}_hi`], [`${base}_clipped`]);
    g.node('QuantizeLinear', [`${base}_clipped`, `${base}_scale`, `${base}_zp`], [`${base}_u8`]);
    g.node('DequantizeLinear', [`${base}_u8`, `${base}_scale`, `${base}_zp`], [`${base}_dq`]);
    return `${base}_dq`;
  };
  const weight = (name: string, dims: number[]): string => {
    const n = dims.reduce((a, b) => a * b, 1);
    const w = weights(n, 1 / Math.sqrt(n / dims[0]!), ++seed);
    if (!int8) return g.initializer(name, w, dims);
    // Symmetric per output channel (axis 0), as the training job quantizes Conv and Gemm(transB).
    const inner = n / dims[0]!;
    const scales = new Float32Array(dims[0]!);
    for (let i = 0; i < n; i++) {
      const c = Math.floor(i / inner);
      scales[c] = Math.max(scales[c]!, Math.abs(w[i]!) / 127);
    }
    const codes = Int8Array.from(w, (v, i) => Math.round(v / scales[Math.floor(i / inner)]!));
    g.addTensor({
      name: `${name}_int8`,
      dataType: TensorDataType.INT8,
      dims,
      rawData: new Uint8Array(codes.buffer),
    });
    g.addTensor(makeTensor(`${name}_scale`, scales, [dims[0]!]));
    g.addTensor({
      name: `${name}_zp`,
      dataType: TensorDataType.INT8,
      dims: [dims[0]!],
      rawData: new Uint8Array(dims[0]!),
    });
    g.node('DequantizeLinear', [`${name}_int8`, `${name}_scale`, `${name}_zp`], [`${name}_dq`], {
      axis: int(0),
    });
    return `${name}_dq`;
  };
  const bias = (name: string, n: number) => g.initializer(name, weights(n, 0.1, ++seed), [n]);
  const relu6 = (x: string, out: string) => {
    const lo = g.initializer(`${out}_min`, Float32Array.of(0), []);
    const hi = g.initializer(`${out}_max`, Float32Array.of(6), []);
    return g.node('Clip', [x, lo, hi], [out])[0]!;
  };
  const conv = (
    x: string,
    range: Range,
    out: string,
    dims: number[],
    k: number,
    stride: number,
    group = 1,
  ) => {
    const p = Math.floor(k / 2);
    return g.node('Conv', [act(x, range), weight(`${out}_w`, dims), bias(`${out}_b`, dims[0]!)], [out], {
      kernel_shape: ints([k, k]),
      strides: ints([stride, stride]),
      pads: ints([p, p, p, p]),
      group: int(group),
    })[0]!;
  };
  const x = g.input('x', [1, 3, SIDE, SIDE]);
  const c1 = relu6(conv(x, { min: 0, max: 1 }, 'c1', [WIDTH, 3, 3, 3], 3, 2), 'a1');
  const dw = relu6(conv(c1, { min: 0, max: 6 }, 'dw', [WIDTH, 1, 3, 3], 3, 1, WIDTH), 'a2');
  const proj = conv(dw, { min: 0, max: 6 }, 'proj', [WIDTH, WIDTH, 1, 1], 1, 1);
  const [sum] = g.node('Add', [proj, c1], ['sum']);
  const ex = relu6(conv(sum!, { min: -8, max: 8 }, 'ex', [2 * WIDTH, WIDTH, 1, 1], 1, 1), 'a3');
  const [pool] = g.node('GlobalAveragePool', [ex], ['pool']);
  const [flat] = g.node('Flatten', [pool!], ['flat'], { axis: int(1) });
  const [logits] = g.node(
    'Gemm',
    [act(flat!, { min: 0, max: 6 }), weight('head_w', [4, 2 * WIDTH]), bias('head_b', 4)],
    ['logits'],
    { transB: int(1) },
  );
  g.node('Softmax', [logits!], ['y'], { axis: int(1) });
  g.output('y', [1, 4]);
  return g.build();
}

/** What a warm-up ran: per graph, the engine steps of its plan. */
export interface WarmUpReport {
  variant: string;
  steps: { fp32: string[]; int8: string[] };
}

/**
 * Runs the two warm-up graphs `rounds` times each on one instance of the kernels, then grows
 * that instance's memory to `spareBytes`, touched and zeroed, and keeps it for the first model
 * session (spare-kernels.ts: mapping fresh wasm pages in is a large part of a cold session).
 * Synchronous, no I/O: callable at a Worker's global scope.
 */
export function warmUpEngine(modules: KernelModules, rounds = 6, spareBytes = SPARE_BYTES): WarmUpReport {
  const kernels = instantiateKernelsSync(modules);
  const steps = { fp32: [] as string[], int8: [] as string[] };
  const data = weights(3 * SIDE * SIDE, 0.5, 0).map((v) => v + 0.5);
  for (const kind of ['fp32', 'int8'] as const) {
    // Through the ONNX bytes, as a model arrives: the protobuf decoder is cold code too.
    const graph = decodeModel(encodeModel(warmUpGraph(kind === 'int8')));
    let snapshot: WeightSnapshot | undefined;
    const session = openEngineSession(graph, kernels, {
      onWeights: (w) => {
        snapshot = w;
      },
    });
    const timings = new Map<string, number>();
    session.runSync({ x: { data, dims: [1, 3, SIDE, SIDE] } }, { timings });
    for (let r = 1; r < rounds; r++) session.runSync({ x: { data, dims: [1, 3, SIDE, SIDE] } });
    steps[kind] = [...timings.keys()];
    session.release();
    // And once from its own snapshot: the path a model with an engine artifact takes.
    if (kind === 'int8' && snapshot) {
      const restored = openEngineSession(graph, kernels, { weights: snapshot });
      restored.runSync({ x: { data, dims: [1, 3, SIDE, SIDE] } });
      restored.release();
    }
  }
  if (spareBytes > 0) prepareSpareKernels(modules, spareBytes, kernels);
  return { variant: kernels.variant, steps };
}
