import type { ImageHeader } from './header.ts';
import { expectedPngDataSize } from './png-raw.ts';

/**
 * A PNG's image data inflated by the runtime's own zlib (`DecompressionStream('deflate')`: native
 * code in workerd and Node) instead of fflate's JavaScript inflate, which is about half of a
 * photo PNG's decode. It is asynchronous, so the edge calls it before the synchronous decode and
 * hands the bytes over (preprocessBytesAsync); training keeps the synchronous path. Inflate is
 * lossless: the decode that follows sees the same bytes either way.
 *
 * Only for pictures whose data fits NATIVE_INFLATE_MAX_BYTES: larger ones keep streaming through
 * fflate in bands (png-stream.ts) so they never exist whole. The decompression-bomb rule is the
 * same as readRawPng's: output is written into a buffer of exactly the size the header implies,
 * and the stream is cancelled as soon as it yields more.
 *
 * Returns undefined — and the caller decodes the usual way, which then reports the precise
 * error — whenever this path cannot vouch for the result: no DecompressionStream, a CRC or
 * structure problem, data missing, too much data, or any stream error.
 */
export const NATIVE_INFLATE_MAX_BYTES = 8 * 2 ** 20;

export async function inflatePngNative(
  bytes: Uint8Array,
  header: ImageHeader,
): Promise<Uint8Array | undefined> {
  if (header.format !== 'png' || typeof DecompressionStream !== 'function') return undefined;
  const expected = expectedPngDataSize(bytes, header);
  if (expected === 0 || expected > NATIVE_INFLATE_MAX_BYTES) return undefined;
  const idat = idatChunks(bytes);
  if (!idat) return undefined;
  const out = new Uint8Array(expected);
  const stream = new DecompressionStream('deflate');
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  // Writes are not awaited one by one (the reader drains the other end); their failures surface
  // through the reader too, so they are only kept from being reported as unhandled.
  const writing = (async () => {
    for (const chunk of idat) await writer.write(chunk as Uint8Array<ArrayBuffer>);
    await writer.close();
  })().catch(() => undefined);
  let produced = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (produced + value.length > expected) {
        await reader.cancel();
        return undefined;
      }
      out.set(value, produced);
      produced += value.length;
    }
  } catch {
    return undefined;
  } finally {
    await writing;
  }
  return produced === expected ? out : undefined;
}

/**
 * The IDAT chunks' data in order, or undefined when the chunk structure is not sound as far as
 * IEND (the synchronous reader then checks it again and names the problem).
 */
function idatChunks(bytes: Uint8Array): Uint8Array[] | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: Uint8Array[] = [];
  for (let offset = 8; offset + 12 <= bytes.length; ) {
    const length = view.getUint32(offset);
    const start = offset + 8;
    if (start + length + 4 > bytes.length) return undefined;
    const type = String.fromCharCode(
      bytes[offset + 4]!,
      bytes[offset + 5]!,
      bytes[offset + 6]!,
      bytes[offset + 7]!,
    );
    if (type === 'IDAT') chunks.push(bytes.subarray(start, start + length));
    else if (type === 'IEND') return chunks.length > 0 ? chunks : undefined;
    offset = start + length + 4;
  }
  return undefined;
}
