/** `GET /`: a small self-contained page to try a model in the browser (functions/http/page/html.ts). */
import { Hono } from 'hono';
import { NONCE, type SecureHeadersVariables, secureHeaders } from 'hono/secure-headers';
import type { AppEnv } from '../../runtime/env.ts';
import { renderPage } from './html.ts';

type PageEnv = AppEnv & { Variables: SecureHeadersVariables };

/**
 * Only this route gets the page's headers (they are attached to the route, not `use('*')`, so
 * mounting the page at `/` cannot leak a CSP onto the JSON API). The inline style and script run
 * under a per-response nonce; everything else is same-origin: the API (`connect-src`) and the
 * preview of the chosen image (`blob:`).
 */
const pageHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: [NONCE],
    styleSrc: [NONCE],
    imgSrc: ["'self'", 'blob:'],
    connectSrc: ["'self'"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
  },
  xFrameOptions: 'DENY',
  permissionsPolicy: { camera: [], microphone: [], geolocation: [] },
});

export const page = new Hono<PageEnv>();

page.get('/', pageHeaders, (c) => {
  const nonce = c.get('secureHeadersNonce');
  // secureHeaders sets the nonce before the handler runs; without it the page could not run at all.
  if (!nonce) throw new Error('secureHeaders did not provide a CSP nonce');
  // A fresh nonce per response: a cached copy would be valid, but there is nothing worth caching.
  c.header('cache-control', 'no-store');
  return c.html(renderPage(nonce));
});
