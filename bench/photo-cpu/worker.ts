/**
 * The Worker of bench/photo-cpu.ts: the edge's preprocessing (preprocessBytesAsync, the code
 * functions/http/predict.ts runs) on the POSTed bytes, with the codecs the production Worker
 * imports, and nothing else, so the workerd process's CPU time and page faults per request are
 * the preprocessing's.
 */
import { ensureCodecs } from '../../functions/runtime/codecs.ts';
import { CURRENT_RESIZE, PreprocessSpecSchema } from '../../shared/manifest/preprocess.ts';
import { preprocessBytesAsync } from '../../shared/preprocess/preprocess.ts';

const spec = PreprocessSpecSchema.parse({
  width: 224,
  height: 224,
  channels: 3,
  layout: 'NCHW',
  resize: CURRENT_RESIZE,
});

export default {
  async fetch(request: Request): Promise<Response> {
    await ensureCodecs();
    const bytes = new Uint8Array(await request.arrayBuffer());
    const { data } = await preprocessBytesAsync(bytes, spec);
    return Response.json({ values: data.length });
  },
};
