import { EdgetuneError } from '../../shared/errors.ts';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Strict base64 (standard or URL-safe, optional `data:...;base64,` prefix, whitespace ignored).
 * `atob` alone accepts things that are not base64 in any spec, so the alphabet is checked first.
 */
export function decodeBase64(text: string, what = 'image'): Uint8Array {
  let s = text.trim();
  const comma = s.startsWith('data:') ? s.indexOf(',') : -1;
  if (comma >= 0) {
    if (!/;base64$/i.test(s.slice(0, comma))) {
      throw new EdgetuneError('bad_request', `${what}: data URLs must be base64-encoded`);
    }
    s = s.slice(comma + 1);
  }
  s = s.replace(/\s+/g, '');
  if (BASE64URL.test(s) && /[-_]/.test(s)) s = s.replace(/-/g, '+').replace(/_/g, '/');
  if (!BASE64.test(s) || s.length % 4 === 1) {
    throw new EdgetuneError('bad_request', `${what}: not valid base64`);
  }
  let binary: string;
  try {
    binary = atob(s);
  } catch {
    throw new EdgetuneError('bad_request', `${what}: not valid base64`);
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Little-endian float32 bytes as base64 (the embed endpoint's `?encoding=base64`). */
export function float32ToBase64(values: Float32Array): string {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
