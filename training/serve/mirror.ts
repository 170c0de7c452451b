import type { ObjectStore } from '../../shared/store/types.ts';

interface Seen {
  a: string | null;
  b: string | null;
}

export interface MirrorStats {
  copiedToB: number;
  copiedToA: number;
  deleted: number;
}

/**
 * Two-way mirror between the local store (A, where the CLI publishes and the worker writes jobs)
 * and the local R2 bucket (B, where the Worker reads models and writes feedback). Each side's
 * changes since the previous pass are copied to the other; when both changed, A wins. ETags of the
 * two implementations are not comparable, so the mirror remembers each side's last ETag instead.
 */
export class StoreMirror {
  private readonly seen = new Map<string, Seen>();

  constructor(
    private readonly a: ObjectStore,
    private readonly b: ObjectStore,
  ) {}

  async syncOnce(): Promise<MirrorStats> {
    const stats: MirrorStats = { copiedToB: 0, copiedToA: 0, deleted: 0 };
    const [listA, listB] = await Promise.all([this.a.list(''), this.b.list('')]);
    const etagA = new Map(listA.objects.map((o) => [o.key, o.etag]));
    const etagB = new Map(listB.objects.map((o) => [o.key, o.etag]));
    const keys = new Set([...etagA.keys(), ...etagB.keys(), ...this.seen.keys()]);
    // Manifests last, so a reader on the other side never sees a version before its model.
    const ordered = [...keys].sort(
      (x, y) => Number(x.endsWith('manifest.json')) - Number(y.endsWith('manifest.json')),
    );
    for (const key of ordered) {
      const ea = etagA.get(key) ?? null;
      const eb = etagB.get(key) ?? null;
      const prev = this.seen.get(key);
      const changedA = prev ? ea !== prev.a : ea !== null;
      const changedB = prev ? eb !== prev.b : eb !== null && ea === null;
      if (changedA) {
        this.seen.set(key, await this.copy(key, this.a, this.b, ea, stats, 'toB'));
      } else if (changedB) {
        this.seen.set(key, await this.copy(key, this.b, this.a, eb, stats, 'toA'));
      } else if (ea === null && eb === null) {
        this.seen.delete(key);
      } else {
        this.seen.set(key, { a: ea, b: eb });
      }
    }
    return stats;
  }

  private async copy(
    key: string,
    from: ObjectStore,
    to: ObjectStore,
    fromEtag: string | null,
    stats: MirrorStats,
    direction: 'toA' | 'toB',
  ): Promise<Seen> {
    let toEtag: string | null = null;
    if (fromEtag === null) {
      await to.delete(key);
      stats.deleted++;
    } else {
      const object = await from.get(key);
      if (object) {
        toEtag = (await to.put(key, object.body)).etag;
        if (direction === 'toB') stats.copiedToB++;
        else stats.copiedToA++;
      }
    }
    return direction === 'toB' ? { a: fromEtag, b: toEtag } : { a: toEtag, b: fromEtag };
  }
}
