/**
 * A local model hub on 127.0.0.1 serving Hugging Face's file layout,
 * `/{org}/{repo}/resolve/{revision}/{path}`, from in-memory files (the torch.onnx fixtures and
 * config JSON). A repository may require a bearer token (a gated repo); every request is counted
 * so tests can tell a download from a cache hit; files can be swapped to simulate tampering.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HubRepo {
  /** revision → path → bytes */
  revisions: Record<string, Record<string, Uint8Array | string>>;
  /** When set, requests need `authorization: Bearer <token>`. */
  token?: string;
}

export interface LocalHub {
  endpoint: string;
  repos: Map<string, HubRepo>;
  /** Requests per URL path, including refused ones. */
  hits: Map<string, number>;
  close(): Promise<void>;
}

export async function startLocalHub(repos: Record<string, HubRepo>): Promise<LocalHub> {
  const map = new Map(Object.entries(repos));
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const p = decodeURIComponent(url.pathname);
    hits.set(p, (hits.get(p) ?? 0) + 1);
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(p);
    const repo = m ? map.get(m[1]!) : undefined;
    if (!m || !repo) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Repository not found');
      return;
    }
    if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`) {
      // What the hub answers for a gated repository without (or with a wrong) token.
      res.writeHead(401, { 'content-type': 'text/plain' }).end('Access to this model is restricted');
      return;
    }
    const body = repo.revisions[m[2]!]?.[m[3]!];
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Entry not found');
      return;
    }
    const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
    // In pieces, so progress has more than one step to report.
    const piece = Math.max(1, Math.ceil(bytes.length / 4));
    for (let at = 0; at < bytes.length; at += piece) res.write(bytes.subarray(at, at + piece));
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    repos: map,
    hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
