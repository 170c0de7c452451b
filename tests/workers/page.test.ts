import { describe, expect, it } from 'vitest';
import { call } from './fixtures.ts';

interface Element {
  tag: string;
  attrs: Record<string, string>;
}

/** Every element of the page with its attributes, read by workerd's own streaming HTML parser. */
async function elementsOf(res: Response): Promise<Element[]> {
  const found: Element[] = [];
  const rewritten = new HTMLRewriter().on('*', {
    element(el) {
      // workers-types declare `attributes` as [name, value] pairs; the DOM lib in tsconfig shadows it.
      const attributes = el.attributes as unknown as Iterable<[string, string]>;
      found.push({ tag: el.tagName, attrs: Object.fromEntries(attributes) });
    },
  });
  await rewritten.transform(res).text();
  return found;
}

function cspOf(res: Response): Map<string, string[]> {
  const header = res.headers.get('content-security-policy') ?? '';
  return new Map(
    header
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...values]) => [name!, values]),
  );
}

describe('GET / (the try-a-model page)', () => {
  it('serves HTML with the form controls, each labelled', async () => {
    const res = await call('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html; charset=utf-8$/i);
    const els = await elementsOf(res);
    const byId = new Map(els.filter((e) => e.attrs.id).map((e) => [e.attrs.id!, e]));
    expect(byId.get('model')?.tag).toBe('select');
    expect(byId.get('version')?.tag).toBe('select');
    expect(byId.get('user-key')).toMatchObject({ tag: 'input', attrs: { type: 'text', maxlength: '256' } });
    expect(byId.get('top-k')).toMatchObject({ tag: 'input', attrs: { type: 'number', value: '5' } });
    expect(byId.get('image')).toMatchObject({
      tag: 'input',
      attrs: { type: 'file', accept: 'image/*' },
    });
    expect(byId.get('classify')).toMatchObject({ tag: 'button', attrs: { type: 'submit' } });
    for (const id of ['predictions', 'answer-version', 'answer-engine', 'answer-latency', 'status', 'error'])
      expect(byId.has(id), id).toBe(true);
    expect(byId.get('status')?.attrs.role).toBe('status');
    expect(byId.get('error')?.attrs.role).toBe('alert');
    // Every control has a <label for=…>, so screen readers and keyboard users get a name.
    const labelled = new Set(els.filter((e) => e.tag === 'label').map((e) => e.attrs.for));
    for (const id of ['model', 'version', 'user-key', 'top-k', 'image'])
      expect(labelled.has(id), id).toBe(true);
    // The teach panel: its fixed controls are labelled too, and the token is a password field
    // that the browser must not offer to remember.
    for (const id of ['teach-from', 'teach-name', 'teach-activate', 'teach-token'])
      expect(labelled.has(id), id).toBe(true);
    expect(byId.get('teach-token')).toMatchObject({
      tag: 'input',
      attrs: { type: 'password', autocomplete: 'off' },
    });
    expect(byId.get('teach-create')).toMatchObject({ tag: 'button', attrs: { type: 'submit' } });
    expect(byId.get('teach-error')?.attrs.role).toBe('alert');
    expect(els.find((e) => e.tag === 'html')?.attrs.lang).toBe('en');
  });

  it('loads nothing from elsewhere and runs only its own nonce-tagged inline style and script', async () => {
    const res = await call('/');
    const csp = cspOf(res);
    expect(csp.get('default-src')).toEqual(["'none'"]);
    expect(csp.get('connect-src')).toEqual(["'self'"]);
    expect(csp.get('img-src')).toEqual(["'self'", 'blob:']);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    const scriptSrc = csp.get('script-src') ?? [];
    expect(scriptSrc).toHaveLength(1);
    expect(scriptSrc[0]).toMatch(/^'nonce-[A-Za-z0-9+/]{22}==?'$/);
    expect(csp.get('style-src')).toEqual(scriptSrc);
    expect(res.headers.get('content-security-policy')).not.toContain('unsafe');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');

    const nonce = scriptSrc[0]!.slice("'nonce-".length, -1);
    const els = await elementsOf(res.clone());
    const scripts = els.filter((e) => e.tag === 'script');
    const styles = els.filter((e) => e.tag === 'style');
    expect(scripts.map((e) => e.attrs)).toEqual([{ nonce }]);
    expect(styles.map((e) => e.attrs)).toEqual([{ nonce }]);
    // No external (or any) resource references: no src/href anywhere, no <link>, no inline handlers.
    for (const e of els) {
      expect(Object.keys(e.attrs).filter((a) => a === 'src' || a === 'href' || a.startsWith('on'))).toEqual(
        [],
      );
      expect(e.tag).not.toBe('link');
    }
    // API data reaches the DOM as text only.
    const html = await res.text();
    expect(html).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    expect(html).toContain('textContent');
  });

  it('uses a fresh nonce per response, answers HEAD, and keeps its headers off the API', async () => {
    const a = cspOf(await call('/')).get('script-src');
    const b = cspOf(await call('/')).get('script-src');
    expect(a).not.toEqual(b);

    const head = await call('/', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');

    const api = await call('/v1/models');
    expect(api.status).toBe(200);
    expect(api.headers.get('content-type')).toMatch(/^application\/json/);
    expect(api.headers.get('content-security-policy')).toBeNull();

    const post = await call('/', { method: 'POST', body: 'x' });
    expect(post.status).toBe(404);
    expect(await post.json()).toMatchObject({ error: { code: 'not_found' } });
  });
});
