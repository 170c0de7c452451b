/**
 * The engine-ready artifact of a model (`model.int8.engine` beside `model.int8.onnx`): a snapshot
 * of what the compiler wrote into the session's persistent region — the packed weights, scales,
 * biases and zero-point corrections, each under the key the lowering stored it by. Loading a
 * model with it is one copy into wasm memory; the lowering then finds every weight already
 * stored and only builds the plan (kernel calls and arena offsets), which is cheap next to the
 * packing a cold start otherwise pays.
 *
 * The artifact holds no layout knowledge of its own: it is bytes at offsets. What makes those
 * bytes right is the packing code that produced them, so the format version below names that
 * code: any change to how a lowering lays out what it stores (panel shapes, code order, a new
 * key) must bump ENGINE_ARTIFACT_FORMAT. tests/node/engine/artifact.test.ts pins a digest of the
 * warm-up graphs' snapshot to the version, so a packing change that forgets the bump fails there.
 * A file of another version, or one made from another ONNX file, is simply not used: the engine
 * compiles the ONNX file as it would without an artifact.
 *
 * It may also carry the graph without its packed weights (artifact-compile.ts: the ONNX file with
 * the int8 weight codes the snapshot holds emptied, written only when a session of it computes
 * bit for bit what the ONNX file's does). With it the edge reads this file alone on a cold start —
 * about half the bytes, and no decode or hash of the weights a second time; a session opened on
 * that graph must find every weight in the snapshot (CreateOptions.weightless), never pack one.
 */

/** Version of the packing code the snapshot came from (see above: bump on any layout change). */
export const ENGINE_ARTIFACT_FORMAT = 3;

/** The file's name beside the variant it was compiled from. */
export const engineArtifactFile = (onnxFile: string): string => onnxFile.replace(/\.onnx$/, '') + '.engine';

const MAGIC = Uint8Array.from('EDGETUNE-ENGINE\n', (c) => c.charCodeAt(0));
/** The region's bytes start 8-aligned in the file, so one typed copy moves them. */
const DATA_ALIGN = 8;

/** What the compiler wrote: `bytes` are the region's contents from byte offset `start`. */
export interface WeightSnapshot {
  start: number;
  entries: ReadonlyMap<string, number>;
  bytes: Uint8Array;
}

export interface EngineArtifact {
  format: number;
  /** sha256 (hex) of the ONNX file the snapshot was compiled from. */
  onnxSha256: string;
  snapshot: WeightSnapshot;
  /** The ONNX graph without the weights the snapshot holds (absent: read the ONNX file). */
  graph?: Uint8Array;
}

const hexToBytes = (hex: string): Uint8Array =>
  Uint8Array.from({ length: hex.length / 2 }, (_, i) => Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16));
const bytesToHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/**
 * Layout (little-endian): magic (16 bytes), format u32, ONNX sha256 (32 bytes), region start u32,
 * entry count u32, entries (key length u16, UTF-8 key, offset u32), graph length u32 (0: none),
 * graph bytes, zero padding to 8, region length u32, padding to 8, region bytes.
 */
export function encodeEngineArtifact(
  onnxSha256: string,
  snapshot: WeightSnapshot,
  graph?: Uint8Array,
): Uint8Array {
  const enc = new TextEncoder();
  const keys = [...snapshot.entries].map(([k, off]) => ({ key: enc.encode(k), off }));
  let head = MAGIC.length + 4 + 32 + 4 + 4;
  for (const k of keys) head += 2 + k.key.length + 4;
  const graphAt = head;
  head += 4 + (graph?.byteLength ?? 0);
  const lenAt = align(head, DATA_ALIGN);
  const dataAt = align(lenAt + 4, DATA_ALIGN);
  const out = new Uint8Array(dataAt + snapshot.bytes.byteLength);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  let p = MAGIC.length;
  view.setUint32(p, ENGINE_ARTIFACT_FORMAT, true);
  out.set(hexToBytes(onnxSha256), p + 4);
  p += 36;
  view.setUint32(p, snapshot.start, true);
  view.setUint32(p + 4, keys.length, true);
  p += 8;
  for (const k of keys) {
    view.setUint16(p, k.key.length, true);
    out.set(k.key, p + 2);
    view.setUint32(p + 2 + k.key.length, k.off, true);
    p += 2 + k.key.length + 4;
  }
  view.setUint32(graphAt, graph?.byteLength ?? 0, true);
  if (graph) out.set(graph, graphAt + 4);
  view.setUint32(lenAt, snapshot.bytes.byteLength, true);
  out.set(snapshot.bytes, dataAt);
  return out;
}

/**
 * The artifact in `bytes`, or why it cannot be used for the ONNX file with sha256 `onnxSha256`
 * (another format version, another model, a truncated or foreign file). The region and graph
 * bytes are views into `bytes`, not copies.
 */
export function decodeEngineArtifact(
  bytes: Uint8Array,
  onnxSha256: string,
): { ok: true; artifact: EngineArtifact } | { ok: false; reason: string } {
  const bad = (reason: string) => ({ ok: false as const, reason });
  if (bytes.byteLength < MAGIC.length + 48 || MAGIC.some((m, i) => bytes[i] !== m))
    return bad('not an edgetune engine artifact');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = MAGIC.length;
  const format = view.getUint32(p, true);
  if (format !== ENGINE_ARTIFACT_FORMAT)
    return bad(`engine artifact format ${format}, this engine reads ${ENGINE_ARTIFACT_FORMAT}`);
  const sha = bytesToHex(bytes.subarray(p + 4, p + 36));
  if (sha !== onnxSha256)
    return bad(`engine artifact was compiled from another model (${sha.slice(0, 12)}…)`);
  p += 36;
  const start = view.getUint32(p, true);
  const count = view.getUint32(p + 4, true);
  p += 8;
  const dec = new TextDecoder();
  const entries = new Map<string, number>();
  try {
    for (let i = 0; i < count; i++) {
      const n = view.getUint16(p, true);
      if (p + 2 + n + 4 > bytes.byteLength) return bad('engine artifact is truncated');
      entries.set(dec.decode(bytes.subarray(p + 2, p + 2 + n)), view.getUint32(p + 2 + n, true));
      p += 2 + n + 4;
    }
    const graphLength = view.getUint32(p, true);
    if (p + 4 + graphLength > bytes.byteLength) return bad('engine artifact is truncated');
    const graph = graphLength > 0 ? bytes.subarray(p + 4, p + 4 + graphLength) : undefined;
    p += 4 + graphLength;
    const lenAt = align(p, DATA_ALIGN);
    const length = view.getUint32(lenAt, true);
    const dataAt = align(lenAt + 4, DATA_ALIGN);
    if (dataAt + length !== bytes.byteLength) return bad('engine artifact is truncated');
    const end = start + length;
    for (const off of entries.values())
      if (off < start || off > end) return bad('engine artifact is corrupt');
    return {
      ok: true,
      artifact: {
        format,
        onnxSha256: sha,
        snapshot: { start, entries, bytes: bytes.subarray(dataAt) },
        ...(graph ? { graph } : {}),
      },
    };
  } catch {
    // DataView reads past the end throw RangeError: a truncated file.
    return bad('engine artifact is truncated');
  }
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
