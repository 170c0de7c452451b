/**
 * Planning of the wasm linear memory: a bump region for weights (written once per model) and a
 * first-fit arena for activations and scratch, laid out once per batch size from tensor
 * lifetimes. Nothing is allocated while a request runs.
 */

export const ALIGN = 64;

export function alignUp(n: number, a = ALIGN): number {
  return Math.ceil(n / a) * a;
}

/** First-fit allocator over [0, ∞) that remembers its high-water mark. */
export class ArenaPlanner {
  private blocks: { offset: number; size: number }[] = [];
  peak = 0;

  alloc(bytes: number): number {
    const size = alignUp(Math.max(bytes, ALIGN));
    let offset = 0;
    let index = 0;
    for (; index < this.blocks.length; index++) {
      const b = this.blocks[index]!;
      if (b.offset - offset >= size) break;
      offset = b.offset + b.size;
    }
    this.blocks.splice(index, 0, { offset, size });
    this.peak = Math.max(this.peak, offset + size);
    return offset;
  }

  free(offset: number): void {
    const i = this.blocks.findIndex((b) => b.offset === offset);
    if (i >= 0) this.blocks.splice(i, 1);
  }
}
