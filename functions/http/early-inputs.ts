/**
 * A cold request's image decode, started while its model is still being read. The preprocessing
 * contract comes with the version's manifest, before the model file, so once routing has picked
 * a version whose session is not resident, the request's images can be decoded during the R2
 * reads instead of after them. The result is the same tensors prepare() would make later: it is
 * the same call, with the same spec, only sooner.
 */
import type { PreprocessSpec } from '../../shared/manifest/preprocess.ts';

type Prepare = (spec: PreprocessSpec) => Promise<Float32Array[]>;

export class EarlyInputs {
  /** Per spec (a routing fallback may land on a version with another one). */
  private readonly started = new Map<string, Promise<Float32Array[]>>();

  constructor(private readonly prepare: Prepare) {}

  /**
   * Starts preprocessing for `spec` on a later task: the decode is synchronous CPU work, and the
   * model load that the caller has just started must first get as far as issuing its reads
   * (microtasks only), or the decode would delay them instead of overlapping them.
   */
  start(spec: PreprocessSpec): void {
    const key = JSON.stringify(spec);
    if (this.started.has(key)) return;
    const pending = new Promise<void>((resolve) => setTimeout(resolve, 0)).then(() => this.prepare(spec));
    // Its error (an undecodable upload) is reported by take(), once the session is there; until
    // then it must not count as unhandled.
    pending.catch(() => undefined);
    this.started.set(key, pending);
  }

  /** The inputs for `spec`: the early decode's when one was started, else preprocessed now. */
  take(spec: PreprocessSpec): Promise<Float32Array[]> {
    return this.started.get(JSON.stringify(spec)) ?? this.prepare(spec);
  }
}
