/**
 * A second Worker beside the edge in the local workerd, bound to the same R2 bucket, that answers
 * the local mirror's bucket calls over HTTP (reached with Miniflare's `getWorker().fetch`, never
 * exposed on the server's port).
 *
 * Why not Miniflare's `getR2Bucket()` proxy: its first call of every method and every property
 * read of a returned R2Object is a *synchronous* round trip that blocks Node's event loop with
 * Atomics.wait; on a loaded machine those calls failed ("AssertionError: false == true" in
 * SynchronousFetcher) or never answered, which stalled the mirror. A fetch is one asynchronous
 * request per operation, and listings come back as one JSON document.
 *
 * Plain JavaScript with no imports: Miniflare runs it as given, no bundling.
 */
function meta(o) {
  return { key: o.key, size: o.size, etag: o.etag, httpEtag: o.httpEtag, uploaded: o.uploaded.toISOString() };
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const op = url.pathname.slice(1);
    const key = url.searchParams.get('key') ?? '';
    const options = JSON.parse(request.headers.get('x-bridge-options') ?? '{}');
    const bucket = env.MODELS;
    switch (op) {
      case 'get': {
        const o = await bucket.get(key);
        if (!o) return new Response(null, { status: 404 });
        return new Response(o.body, { headers: { 'x-bridge-object': JSON.stringify(meta(o)) } });
      }
      case 'head': {
        const o = await bucket.head(key);
        return Response.json(o ? meta(o) : null);
      }
      case 'put': {
        const o = await bucket.put(key, await request.arrayBuffer(), options);
        return Response.json(o ? meta(o) : null);
      }
      case 'list': {
        const r = await bucket.list(options);
        return Response.json({
          objects: r.objects.map(meta),
          delimitedPrefixes: r.delimitedPrefixes,
          truncated: r.truncated,
          cursor: r.truncated ? r.cursor : undefined,
        });
      }
      case 'delete':
        await bucket.delete(key);
        return new Response(null, { status: 204 });
      default:
        return new Response(`unknown bridge operation ${JSON.stringify(op)}`, { status: 400 });
    }
  },
};
