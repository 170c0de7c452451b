import { EdgetuneError } from '../shared/errors.ts';
import type { ListResult, ObjectInfo, ObjectStore, PutOptions, StoredObject } from '../shared/store/types.ts';

export interface PatienceOptions {
  /** Abandon one call after this long (default 20 s). */
  timeoutMs?: number;
  /** Calls in all, the first included (default 4). */
  attempts?: number;
  /** Told about every abandoned call. */
  onRetry?: (what: string, attempt: number) => void;
}

/** `op()`, abandoned after `timeoutMs` and started again, up to `attempts` times. */
export async function withPatience<T>(
  what: string,
  op: () => Promise<T>,
  options: PatienceOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const attempts = options.attempts ?? 4;
  for (let attempt = 1; ; attempt++) {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), timeoutMs);
    });
    try {
      const call = op().then((value) => ({ value }));
      const outcome = await Promise.race([call, expired]);
      if (outcome !== 'expired') return outcome.value;
      // The abandoned call may still settle later; its rejection must not go unhandled.
      call.catch(() => undefined);
    } finally {
      clearTimeout(timer);
    }
    if (attempt >= attempts) {
      throw new EdgetuneError(
        'internal',
        `${what}: no answer after ${attempts} tries of ${timeoutMs / 1000} s each`,
        { status: 503 },
      );
    }
    options.onRetry?.(what, attempt);
  }
}

/**
 * An ObjectStore whose calls are abandoned and retried when they hang. For Miniflare's Node-side
 * binding proxy (the local edge's R2 bucket), which can leave a call unanswered on a loaded
 * machine: the mirror's calls are idempotent (reads, listings, deletes, unconditional puts of the
 * same bytes), so trying again is safe. A conditional put is never repeated — a first try that
 * did land would make the second fail its own precondition — so it only gets the deadline.
 */
export class PatientStore implements ObjectStore {
  readonly url: string;

  constructor(
    private readonly inner: ObjectStore,
    private readonly options: PatienceOptions = {},
  ) {
    this.url = inner.url;
  }

  get(key: string): Promise<StoredObject | null> {
    return withPatience(`get ${this.url} ${key}`, () => this.inner.get(key), this.options);
  }

  head(key: string): Promise<ObjectInfo | null> {
    return withPatience(`head ${this.url} ${key}`, () => this.inner.head(key), this.options);
  }

  put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<ObjectInfo> {
    const conditional = options.ifMatch !== undefined || options.ifNoneMatch !== undefined;
    return withPatience(`put ${this.url} ${key}`, () => this.inner.put(key, body, options), {
      ...this.options,
      ...(conditional ? { attempts: 1 } : {}),
    });
  }

  list(prefix: string, options?: { delimiter?: string }): Promise<ListResult> {
    return withPatience(`list ${this.url} ${prefix}`, () => this.inner.list(prefix, options), this.options);
  }

  delete(key: string): Promise<void> {
    return withPatience(`delete ${this.url} ${key}`, () => this.inner.delete(key), this.options);
  }
}
