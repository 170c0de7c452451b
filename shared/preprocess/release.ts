/**
 * Hands a transient buffer's memory back to the runtime now instead of at the next garbage
 * collection, for the multi-megabyte buffers one preprocessing makes and drops (a decoded picture,
 * a PNG's inflated data, the resized samples).
 *
 * Why: buffers this large go back to the system once they are collected, so a request's fresh
 * buffers were new memory whenever a collection had run since the previous request (in workerd
 * nearly always) and paid a page fault per 4 KiB on first write: a 1 MP WebP's decode (4 MB RGBA)
 * ~1,000 faults, about a third of its decode time in workerd (docs/photos-speed.md, "WebP in
 * workerd", says how it was measured). Freed at once, the next request's buffer lands on the same
 * resident pages.
 *
 * Detaching (`ArrayBuffer.prototype.transfer(0)`) frees the backing store immediately; where the
 * runtime lacks it (Node 20) the buffer is collected as before. Every view on the buffer becomes
 * empty, so this is only for buffers nothing else reads: never the caller's bytes (`keep`), never a
 * WebAssembly memory (the decoders hand out copies).
 */
export function releaseBuffer(view: ArrayBufferView, keep?: ArrayBufferView): void {
  const buffer = view.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer };
  if (typeof buffer.transfer !== 'function' || buffer.byteLength === 0) return;
  if (keep !== undefined && keep.buffer === buffer) return;
  buffer.transfer(0);
}
