import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';

// A hand-made single-node ONNX model (y = x + 1 via Add with an initializer would need the
// builder; Relu needs no weights). Bytes: ir_version 8, opset 17, graph { node Relu x->y, inputs, outputs }.
describe('onnxruntime-web inside workerd', () => {
  it('serves a model from R2', async () => {
    const { buildReluModel } = await import('../fixtures/tiny-models.ts');
    await env.MODELS.put('models/tiny/versions/v1/model.onnx', buildReluModel());
    const res = await exports.default.fetch('http://x/v2/models/tiny/versions/v1/infer', {
      method: 'POST',
      body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], data: [-1, 2, -3, 4] }] }),
    });
    expect(res.status).toBe(200);
    const json = (await res.json()) as { outputs: { data: number[] }[] };
    expect(json.outputs[0]!.data).toEqual([0, 2, 0, 4]);
  });
});
