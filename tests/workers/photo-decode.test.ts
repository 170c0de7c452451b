/**
 * The photo decoders inside workerd, loaded the way the Worker loads them (functions/runtime/codecs.ts:
 * libwebp imported as a precompiled module), decode every file of the Node-made corpus to the
 * same bits as Node does for training — pixels, shrink-on-load output and model tensors.
 */
import { describe, expect, inject, it } from 'vitest';
import { ensureCodecs } from '../../functions/runtime/codecs.ts';
import { isEdgetuneError } from '../../shared/errors.ts';
import { PreprocessSpecSchema } from '../../shared/manifest/preprocess.ts';
import {
  decodeImage,
  preprocessBytes,
  preprocessBytesAsync,
  readImageHeader,
} from '../../shared/preprocess/index.ts';
import { inflatePngNative } from '../../shared/preprocess/png-inflate.ts';
import { releaseBuffer } from '../../shared/preprocess/release.ts';
import { fromBase64 } from './fixtures.ts';
import './photo-reference.ts';

async function sha(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes.slice());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

describe('photo decoding in workerd', () => {
  it('decodes JPEG (orientation, progressive, 12 MP shrink-on-load), WebP, GIF and PNG bit-identically to Node', async () => {
    await ensureCodecs();
    const ref = inject('photoReference');
    const spec = PreprocessSpecSchema.parse(ref.spec);
    expect(ref.files.length).toBe(7);
    for (const f of ref.files) {
      const bytes = fromBase64(f.base64);
      expect(await sha(decodeImage(bytes).data), f.name).toBe(f.pixels);
      const shrunk = decodeImage(bytes, { target: { width: 224, height: 224 } });
      expect([shrunk.width, shrunk.height, shrunk.scale], f.name).toEqual([f.width, f.height, f.scale]);
      expect(await sha(shrunk.data), f.name).toBe(f.shrunk);
      const t = preprocessBytes(bytes, spec).data;
      expect(await sha(new Uint8Array(t.buffer, t.byteOffset, t.byteLength)), f.name).toBe(f.tensor);
      // The edge's path: PNG data inflated by workerd's native DecompressionStream first.
      const a = (await preprocessBytesAsync(bytes, spec)).data;
      expect(await sha(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)), f.name).toBe(f.tensor);
      if (f.name.endsWith('.png')) {
        const native = await inflatePngNative(bytes, readImageHeader(bytes));
        expect(native?.length, `${f.name}: inflated natively`).toBeGreaterThan(0);
      }
    }
    // The 12 MP photo was decoded at 1/4 (1008×756), never at full size, on both sides.
    expect(ref.files.find((f) => f.name === '12mp.jpg')).toMatchObject({
      width: 1008,
      height: 756,
      scale: 4,
    });
  });

  it("frees a preprocessing's temporary buffers at once and never touches the upload's", async () => {
    await ensureCodecs();
    // workerd detaches (ArrayBuffer.prototype.transfer): the memory is freed now, not at a GC.
    const temporary = new Uint8Array(4096).subarray(16);
    releaseBuffer(temporary);
    expect(temporary.buffer.byteLength).toBe(0);
    const upload = new Uint8Array(64);
    releaseBuffer(upload.subarray(8), upload);
    expect(upload.byteLength).toBe(64);
    // Every corpus file through the edge's path, twice: the upload is intact after each.
    const ref = inject('photoReference');
    const spec = PreprocessSpecSchema.parse(ref.spec);
    for (const f of ref.files) {
      const bytes = fromBase64(f.base64);
      const before = await sha(bytes);
      for (let i = 0; i < 2; i++) await preprocessBytesAsync(bytes, spec);
      expect(await sha(bytes), f.name).toBe(before);
    }
  });

  it('answers malformed uploads with 4xx errors and keeps decoding afterwards', async () => {
    await ensureCodecs();
    const ref = inject('photoReference');
    const webp = fromBase64(ref.files.find((f) => f.name === 'alpha.webp')!.base64);
    const jpeg = fromBase64(ref.files.find((f) => f.name === 'progressive.jpg')!.base64);
    const gif = fromBase64(ref.files.find((f) => f.name === 'photo.gif')!.base64);
    for (const bad of [
      webp.subarray(0, webp.length >> 1),
      jpeg.subarray(0, jpeg.length >> 1),
      gif.subarray(0, 200),
    ]) {
      let status = 0;
      try {
        decodeImage(bad);
      } catch (e) {
        status = isEdgetuneError(e) ? e.status : 500;
      }
      expect(status).toBe(400);
    }
    expect(decodeImage(webp).width).toBe(600);
  });
});
