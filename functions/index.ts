import { Hono } from 'hono';
import { EdgetuneError } from '../shared/errors.ts';
import { assertName } from '../shared/names.ts';
import type { Env } from './env.ts';
import { getOrt } from './ort.ts';

const app = new Hono<{ Bindings: Env }>();

app.get('/v2/health/live', (c) => c.json({ live: true }));

// Minimal raw-tensor inference: the Open Inference Protocol shape, one float32 input.
app.post('/v2/models/:name/versions/:version/infer', async (c) => {
  const name = assertName('model', c.req.param('name'));
  const version = assertName('version', c.req.param('version'));
  const object = await c.env.MODELS.get(`models/${name}/versions/${version}/model.onnx`);
  if (!object) throw new EdgetuneError('not_found', `model ${name}@${version} not found`);
  const ort = await getOrt();
  const session = await ort.InferenceSession.create(new Uint8Array(await object.arrayBuffer()), {
    executionProviders: ['wasm'],
  });
  const body = (await c.req.json()) as { inputs: { name: string; shape: number[]; data: number[] }[] };
  const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
  for (const input of body.inputs) {
    feeds[input.name] = new ort.Tensor('float32', Float32Array.from(input.data), input.shape);
  }
  const results = await session.run(feeds);
  const outputs = Object.entries(results).map(([outName, t]) => ({
    name: outName,
    shape: t.dims,
    datatype: 'FP32',
    data: Array.from(t.data as Float32Array),
  }));
  return c.json({ model_name: name, model_version: version, outputs });
});

app.onError((err, c) => {
  if (err instanceof EdgetuneError) return c.json(err.toJSON(), err.status as 400);
  return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
});

export default app;
