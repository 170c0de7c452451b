/**
 * LpNormalization (p = 2, last axis) for [N, C] activations, in plain JS on the session's wasm
 * memory: it runs once per request on a short vector (an embedding before a prototype head), so a
 * kernel would buy nothing. Rows are `stride` floats apart (the engine pads channels).
 */
export function l2NormaliseRows(
  buffer: ArrayBuffer,
  src: number,
  dst: number,
  rows: number,
  channels: number,
  stride: number,
): void {
  const mem = new Float32Array(buffer);
  for (let r = 0; r < rows; r++) {
    const a = src / 4 + r * stride;
    const b = dst / 4 + r * stride;
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += mem[a + c]! * mem[a + c]!;
    // onnxruntime leaves an all-zero row at zero instead of dividing by zero.
    const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    for (let c = 0; c < channels; c++) mem[b + c] = mem[a + c]! * scale;
  }
}
