/** CORS from the CORS_ORIGINS var, inside workerd (the browser-level check is tests/node/e2e/http-clients.test.ts). */
import { beforeAll, describe, expect, it } from 'vitest';
import { parseOrigins } from '../../functions/runtime/config.ts';
import { call, callWithVars, fixtureImage, publishFixtures } from './fixtures.ts';

const MODEL = 'cors';
const APP = 'https://app.example.com';
const classify = `/v1/models/${MODEL}/classify`;

function post(origin: string): RequestInit {
  return {
    method: 'POST',
    headers: { origin, 'content-type': 'image/png' },
    body: fixtureImage('png-rgb-32x32').bytes,
  };
}

const preflight = (origin: string, method = 'POST'): RequestInit => ({
  method: 'OPTIONS',
  headers: {
    origin,
    'access-control-request-method': method,
    'access-control-request-headers': 'content-type',
  },
});

describe('CORS_ORIGINS', () => {
  beforeAll(async () => {
    await publishFixtures(MODEL, 1);
  });

  it('none by default: answers carry no Access-Control-Allow-Origin', async () => {
    const res = await call(classify, post(APP));
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect((await call(classify, preflight(APP))).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('listed origins get it (preflight and answer, with the A/B headers exposed); others do not', async () => {
    const vars = { CORS_ORIGINS: `${APP}, https://staging.example.com` };
    const pre = await callWithVars(vars, classify, preflight(APP));
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(APP);
    expect(pre.headers.get('access-control-allow-methods')).toMatch(/POST/);
    const res = await callWithVars(vars, classify, post(APP));
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-expose-headers')).toMatch(/x-model-version/);
    expect(res.headers.get('vary')).toMatch(/origin/i);
    const other = await callWithVars(vars, classify, post('https://evil.example.net'));
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    // The admin API never answers cross-origin, whatever the list says.
    const admin = await callWithVars(vars, `/admin/models/${MODEL}/routing`, preflight(APP, 'PUT'));
    expect(admin.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('"*" allows any origin', async () => {
    const res = await callWithVars({ CORS_ORIGINS: '*' }, classify, post('https://anyone.example'));
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('parses the list, ignoring entries that are not origins', () => {
    expect(parseOrigins('https://a.example, http://127.0.0.1:8080/ https://b.example:8443')).toEqual([
      'https://a.example',
      'http://127.0.0.1:8080',
      'https://b.example:8443',
    ]);
    expect(parseOrigins('a.example,https://a.example/path,,')).toEqual([]);
    expect(parseOrigins(undefined)).toEqual([]);
  });
});
