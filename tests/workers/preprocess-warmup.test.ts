/**
 * The codec warm-up the Worker runs at its global scope (functions/runtime/warmup.ts) inside
 * workerd: every embedded picture is the format it stands for and decodes through the real path
 * without a warning, and preprocessing after it gives the same bits as Node's (training) for the
 * whole photo corpus — the warm-up leaves nothing behind that changes a later request.
 */
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { ensureCodecs } from '../../functions/runtime/codecs.ts';
import { warmUpCodecs } from '../../functions/runtime/warmup.ts';
import { PreprocessSpecSchema } from '../../shared/manifest/preprocess.ts';
import { preprocessBytesAsync, readImageHeader } from '../../shared/preprocess/index.ts';
import {
  WARMUP_JPEG_BASE64,
  WARMUP_PNG_BASE64,
  WARMUP_WEBP_BASE64,
} from '../../shared/preprocess/warmup-images.ts';
import { fromBase64 } from './fixtures.ts';
import './photo-reference.ts';

async function sha(t: Float32Array): Promise<string> {
  const digest = await crypto.subtle.digest(
    'SHA-256',
    new Uint8Array(t.buffer, t.byteOffset, t.byteLength).slice(),
  );
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the codec warm-up at start-up', () => {
  it('embeds one small picture per format the Worker decodes', () => {
    const formats = [WARMUP_PNG_BASE64, WARMUP_JPEG_BASE64, WARMUP_WEBP_BASE64].map((b) => {
      const bytes = fromBase64(b);
      expect(bytes.length).toBeLessThan(2048);
      const h = readImageHeader(bytes);
      return `${h.format} ${h.width}×${h.height}`;
    });
    expect(formats).toEqual(['png 48×40', 'jpeg 48×40', 'webp 48×40']);
  });

  it('decodes every one through the real path without a warning', async () => {
    const warn = vi.spyOn(console, 'warn');
    await warmUpCodecs();
    expect(warn).not.toHaveBeenCalled();
  });

  it('leaves the photo corpus preprocessing bit-identical to Node, before and after it', async () => {
    await ensureCodecs();
    const ref = inject('photoReference');
    const spec = PreprocessSpecSchema.parse(ref.spec);
    expect(ref.files.length).toBe(7);
    const before = await Promise.all(
      ref.files.map(async (f) => sha((await preprocessBytesAsync(fromBase64(f.base64), spec)).data)),
    );
    // Twice more, interleaved with decodes of other sizes: state reused between decodes (the
    // resize instance, the JPEG arena, released buffers) must not leak into the next one.
    for (let round = 0; round < 2; round++) {
      await warmUpCodecs();
      for (const [i, f] of ref.files.entries()) {
        const t = (await preprocessBytesAsync(fromBase64(f.base64), spec)).data;
        expect(await sha(t), f.name).toBe(f.tensor);
        expect(before[i], f.name).toBe(f.tensor);
      }
    }
  });
});
