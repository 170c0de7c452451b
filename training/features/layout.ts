/** NCHW item → NHWC item, for a whole array of items ([C,H,W] dims): ONNX activations feed tfjs. */
export function chwToHwc(data: Float32Array, dims: readonly number[]): Float32Array {
  if (dims.length !== 3) return data;
  const [c, h, w] = dims as [number, number, number];
  const size = c * h * w;
  const out = new Float32Array(data.length);
  for (let base = 0; base < data.length; base += size) {
    for (let k = 0; k < c; k++)
      for (let p = 0; p < h * w; p++) out[base + p * c + k] = data[base + k * h * w + p]!;
  }
  return out;
}

/** Channels-last item shape of an ONNX item shape ([C,H,W] → [H,W,C]; vectors unchanged). */
export function channelsLastShape(dims: readonly number[]): number[] {
  return dims.length === 3 ? [dims[1]!, dims[2]!, dims[0]!] : [...dims];
}
