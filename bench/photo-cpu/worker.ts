/**
 * The Worker of bench/photo-cpu.ts: the edge's preprocessing (preprocessBytesAsync, the code
 * functions/http/predict.ts runs) on the POSTed bytes, with the codecs the production Worker
 * imports, and nothing else; `?baseline` receives the upload and answers without preprocessing,
 * so the difference between the two is the preprocessing's CPU time and page faults.
 */
import { ensureCodecs } from '../../functions/runtime/codecs.ts';
import { PHOTO_SPEC } from '../photo-spec.ts';
import { preprocessBytesAsync } from '../../shared/preprocess/preprocess.ts';

const spec = PHOTO_SPEC;

export default {
  async fetch(request: Request): Promise<Response> {
    await ensureCodecs();
    const bytes = new Uint8Array(await request.arrayBuffer());
    // The same request without the preprocessing: what receiving the upload costs on its own.
    if (new URL(request.url).searchParams.has('baseline')) return Response.json({ values: 0 });
    const { data } = await preprocessBytesAsync(bytes, spec);
    return Response.json({ values: data.length });
  },
};
