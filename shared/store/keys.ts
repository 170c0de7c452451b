import { EdgetuneError } from '../errors.ts';
import { assertName } from '../names.ts';

/**
 * The object-store layout, in one place. Every key the project reads or writes is built here, so
 * the edge, the CLI and the retraining worker can never disagree on where something lives.
 */

const MAX_KEY_LENGTH = 1024;

/**
 * Rejects keys that could escape a file store's root or mean different things on different
 * stores: empty, absolute, `\`, empty / `.` / `..` segments, hidden segments (the file store
 * keeps its temp and lock files as dot-files), control characters, and over-long keys.
 */
export function assertKey(key: unknown): string {
  const bad = (why: string): never => {
    const shown = typeof key === 'string' ? JSON.stringify(key.slice(0, 120)) : typeof key;
    throw new EdgetuneError('invalid_name', `invalid object key ${shown}: ${why}`);
  };
  if (typeof key !== 'string' || key.length === 0) return bad('must be a non-empty string');
  if (key.length > MAX_KEY_LENGTH) return bad(`longer than ${MAX_KEY_LENGTH} characters`);
  if (key.startsWith('/')) return bad('must be relative (no leading "/")');
  if (key.includes('\\')) return bad('must not contain "\\"');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(key)) return bad('must not contain control characters');
  for (const segment of key.split('/')) {
    if (segment === '') return bad('must not contain empty segments ("//" or a trailing "/")');
    if (segment === '.' || segment === '..') return bad('must not contain "." or ".." segments');
    if (segment.startsWith('.')) return bad('segments must not start with "."');
  }
  return key;
}

/**
 * A list prefix is a key prefix: empty, or a key-like string that may end with "/". The same
 * rules apply to every segment before the last one.
 */
export function assertPrefix(prefix: unknown): string {
  if (prefix === '') return '';
  if (typeof prefix !== 'string') return assertKey(prefix);
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  assertKey(trimmed);
  return prefix;
}

/** File names inside a version folder (model.onnx, report.html, ...): one plain segment. */
const FILE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function assertFileName(file: unknown): string {
  if (typeof file !== 'string' || !FILE_NAME_PATTERN.test(file) || file.includes('..')) {
    const shown = typeof file === 'string' ? JSON.stringify(file.slice(0, 80)) : typeof file;
    throw new EdgetuneError(
      'invalid_name',
      `invalid file name ${shown}: use 1-128 characters from A-Z, a-z, 0-9, '.', '-' and '_', no path`,
    );
  }
  return file;
}

const VERSION_PATTERN = /^v([1-9][0-9]{0,8})$/;

/** `v1`, `v2`, ... → 1, 2, ...; null for anything else (other names are never registry versions). */
export function versionNumber(version: string): number | null {
  const m = VERSION_PATTERN.exec(version);
  return m ? Number(m[1]) : null;
}

export function versionName(n: number): string {
  if (!Number.isInteger(n) || n < 1 || n > 999_999_999) {
    throw new EdgetuneError('bad_request', `version number out of range: ${n}`);
  }
  return `v${n}`;
}

/** Orders `v2` before `v10` (numeric, not lexicographic). */
export function compareVersions(a: string, b: string): number {
  const na = versionNumber(a);
  const nb = versionNumber(b);
  if (na !== null && nb !== null) return na - nb;
  if (na !== null) return -1;
  if (nb !== null) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export const MODELS_PREFIX = 'models/';
export const MANIFEST_FILE = 'manifest.json';
export const METRICS_PREFIX = 'metrics/';

export const keys = {
  modelPrefix(name: string): string {
    return `${MODELS_PREFIX}${assertName('model', name)}/`;
  },
  versionsPrefix(name: string): string {
    return `${keys.modelPrefix(name)}versions/`;
  },
  versionPrefix(name: string, version: string): string {
    return `${keys.versionsPrefix(name)}${assertName('version', version)}/`;
  },
  versionFile(name: string, version: string, file: string): string {
    return `${keys.versionPrefix(name, version)}${assertFileName(file)}`;
  },
  manifest(name: string, version: string): string {
    return keys.versionFile(name, version, MANIFEST_FILE);
  },
  routing(name: string): string {
    return `${keys.modelPrefix(name)}routing.json`;
  },
  routingHistoryPrefix(name: string): string {
    return `${keys.modelPrefix(name)}routing-history/`;
  },
  /** `{iso-ts}-{rand}.json`: sorts by time; the random tail keeps same-millisecond writers apart. */
  routingHistory(name: string, at: Date, rand: string): string {
    if (!/^[a-z0-9]{1,32}$/.test(rand)) throw new EdgetuneError('bad_request', 'bad history suffix');
    return `${keys.routingHistoryPrefix(name)}${at.toISOString()}-${rand}.json`;
  },
  policy(name: string): string {
    return `${keys.modelPrefix(name)}policy.json`;
  },
  /** Agreement of a shadow version with the versions that answered (written by the edge). */
  shadowStatsPrefix(name: string): string {
    return `${keys.modelPrefix(name)}shadow/`;
  },
  shadowStats(name: string, shadowVersion: string): string {
    return `${keys.shadowStatsPrefix(name)}${assertName('version', shadowVersion)}.json`;
  },
  /** Per-version request counters and latency histograms, written by the edge (edge-owned prefix). */
  metricsPrefix(name: string): string {
    return `${METRICS_PREFIX}${assertName('model', name)}/`;
  },
  /** One object per model per time slot, named by the slot's start (UTC, sorts by time). */
  metricsSlot(name: string, slotStart: Date): string {
    const t = slotStart.getTime();
    if (!Number.isFinite(t)) throw new EdgetuneError('bad_request', 'bad metrics slot time');
    const stamp = slotStart.toISOString().slice(0, 16).replace(':', '-');
    return `${keys.metricsPrefix(name)}${stamp}Z.json`;
  },
  /** Backbones that training recipes refer to, content-addressed by the ONNX file's sha256. */
  backbonePrefix(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new EdgetuneError('bad_request', 'bad backbone sha256');
    return `backbones/${sha256}/`;
  },
  /** `model.onnx`, or `tfjs/<file>` for the tfjs sidecar that `--trainable` needs. */
  backboneFile(sha256: string, file: string): string {
    const parts = file.split('/');
    if (parts.length > 2 || (parts.length === 2 && parts[0] !== 'tfjs')) {
      throw new EdgetuneError('bad_request', `bad backbone file ${JSON.stringify(file)}`);
    }
    return `${keys.backbonePrefix(sha256)}${parts.map(assertFileName).join('/')}`;
  },
  /**
   * Frozen-prefix activations (training-owned), one object per image: `cacheKey` names the
   * backbone + boundary + preprocessing (32 hex), the image id is the sha256 of its file bytes or
   * pixels. Content-addressed, so sharded feature runs are idempotent and resumable.
   */
  featuresPrefix(cacheKey: string): string {
    if (!/^[0-9a-f]{32}$/.test(cacheKey)) throw new EdgetuneError('bad_request', 'bad feature cache key');
    return `features/${cacheKey}/`;
  },
  feature(cacheKey: string, imageId: string): string {
    if (!/^[0-9a-f]{64}$/.test(imageId)) throw new EdgetuneError('bad_request', 'bad image id');
    return `${keys.featuresPrefix(cacheKey)}${imageId.slice(0, 2)}/${imageId}.f32`;
  },
  feedbackPrefix(dataset: string): string {
    return `datasets/${assertName('model', dataset)}/feedback/`;
  },
  /** Accepted (image, label) pairs: `records/{imageSha256}-{labelDigest}.json`. */
  feedbackRecordsPrefix(dataset: string): string {
    return `${keys.feedbackPrefix(dataset)}records/`;
  },
  feedbackRecord(dataset: string, recordId: string): string {
    return assertKey(`${keys.feedbackRecordsPrefix(dataset)}${recordId}.json`);
  },
  /** Uploaded images, content-addressed: `images/{sha256}.{ext}`. */
  feedbackImage(dataset: string, sha256: string, ext: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new EdgetuneError('bad_request', 'bad feedback image sha256');
    if (!/^[a-z0-9]{1,8}$/.test(ext)) throw new EdgetuneError('bad_request', 'bad feedback image extension');
    return `${keys.feedbackPrefix(dataset)}images/${sha256}.${ext}`;
  },
  /** Empty markers `index/{stamp}-{recordId}` that make a record count as new feedback at `stamp`. */
  feedbackIndexPrefix(dataset: string): string {
    return `${keys.feedbackPrefix(dataset)}index/`;
  },
  feedbackIndex(dataset: string, at: Date, recordId: string): string {
    return assertKey(`${keys.feedbackIndexPrefix(dataset)}${feedbackIndexStamp(at)}-${recordId}`);
  },
  /** Feedback the poisoned-feedback check held back from training, waiting for a person. */
  feedbackQuarantinePrefix(dataset: string): string {
    return `${keys.feedbackPrefix(dataset)}quarantine/`;
  },
  /** One quarantined record, under the feedback record's own id. */
  feedbackQuarantine(dataset: string, recordId: string): string {
    if (!/^[0-9a-f]{64}-[0-9a-f]{16}$/.test(recordId)) {
      throw new EdgetuneError(
        'bad_request',
        `invalid feedback record id ${JSON.stringify(recordId.slice(0, 100))}`,
      );
    }
    return `${keys.feedbackQuarantinePrefix(dataset)}${recordId}.json`;
  },
  jobsPrefix(state: JobState): string {
    return `jobs/${jobState(state)}/`;
  },
  job(state: JobState, id: string): string {
    return `${keys.jobsPrefix(state)}${assertName('job', id)}.json`;
  },
  /** The model's latest job (the ledger's one-open-job-per-model pointer). */
  jobPointer(model: string): string {
    return `jobs/by-model/${assertName('model', model)}.json`;
  },
};

export const JOB_STATES = ['pending', 'running', 'done', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];

function jobState(state: string): JobState {
  if (!(JOB_STATES as readonly string[]).includes(state)) {
    throw new EdgetuneError('bad_request', `unknown job state ${JSON.stringify(state)}`);
  }
  return state as JobState;
}

/** The image id of a `keys.feature` key, or null when `key` is not one. */
export function parseFeatureKey(key: string): { cacheKey: string; imageId: string } | null {
  const m = /^features\/([0-9a-f]{32})\/[0-9a-f]{2}\/([0-9a-f]{64})\.f32$/.exec(key);
  return m ? { cacheKey: m[1]!, imageId: m[2]! } : null;
}

/** The model name and version a manifest key belongs to, or null when `key` is not one. */
export function parseManifestKey(key: string): { name: string; version: string } | null {
  const m = /^models\/([^/]+)\/versions\/([^/]+)\/manifest\.json$/.exec(key);
  return m ? { name: m[1]!, version: m[2]! } : null;
}

/** The model name and version of any key inside a version folder, or null when `key` is not one. */
export function parseVersionKey(key: string): { name: string; version: string } | null {
  const m = /^models\/([^/]+)\/versions\/([^/]+)\/[^/]+$/.exec(key);
  return m ? { name: m[1]!, version: m[2]! } : null;
}

/**
 * What the edge writes, as opposed to what the training side owns. A local edge (`edgetune
 * serve`) mirrors these both ways between the store and its R2 bucket; everything else
 * (versions and their manifests, backbones, policies, training data) flows from the store to the
 * edge, so an edge never changes what the store's owner put there. The one thing it adds is a
 * whole new version made through the admin API (a prototype version), which the owner asked for.
 * One list, so a new edge-written prefix is added here and nowhere else.
 */
export const EDGE_OWNED_KEYS: readonly { what: string; pattern: RegExp }[] = [
  { what: 'routing changed through the admin API', pattern: /^models\/[^/]+\/routing\.json$/ },
  { what: 'routing history of those changes', pattern: /^models\/[^/]+\/routing-history\/./ },
  { what: 'shadow agreement counters', pattern: /^models\/[^/]+\/shadow\/./ },
  { what: 'per-version metrics', pattern: /^(models\/[^/]+\/)?metrics\/./ },
  { what: 'feedback posted to the edge', pattern: /^datasets\/[^/]+\/feedback\/./ },
  { what: 'retraining jobs the cron creates', pattern: /^jobs\/./ },
];

export function isEdgeOwnedKey(key: string): boolean {
  return EDGE_OWNED_KEYS.some((k) => k.pattern.test(key));
}

/**
 * Keys only training reads: the shared feature cache. A local edge's mirror leaves them out, so
 * a store that holds the activations of a large dataset does not copy them into the edge's R2.
 */
export function isTrainingOnlyKey(key: string): boolean {
  return key.startsWith('features/');
}

/** Whether `key` is a model's routing document (the last thing a mirror may copy). */
export function isRoutingKey(key: string): boolean {
  return /^models\/[^/]+\/routing\.json$/.test(key);
}

/** The start of the slot a metrics key names (`metrics/{name}/2026-12-05T04-45Z.json`), or null. */
export function parseMetricsSlotKey(key: string): { name: string; slotStart: Date } | null {
  const m = /^metrics\/([^/]+)\/(\d{4}-\d{2}-\d{2}T\d{2})-(\d{2})Z\.json$/.exec(key);
  if (!m) return null;
  const d = new Date(`${m[2]}:${m[3]}:00.000Z`);
  return Number.isNaN(d.getTime()) ? null : { name: m[1]!, slotStart: d };
}

/** ISO time without ':' or '.' (safe in every store's keys), still sorting in time order. */
function feedbackIndexStamp(at: Date): string {
  return at.toISOString().replace(/[:.]/g, '');
}

/** When a feedback index marker (a key under `keys.feedbackIndexPrefix(dataset)`) was written, or null. */
export function parseFeedbackIndexKey(dataset: string, key: string): Date | null {
  const prefix = keys.feedbackIndexPrefix(dataset);
  if (!key.startsWith(prefix)) return null;
  const stamp = key.slice(prefix.length).split('-').slice(0, 3).join('-');
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2})(\d{2})(\d{2})(\d{3})Z$/.exec(stamp);
  if (!m) return null;
  const d = new Date(`${m[1]}:${m[2]}:${m[3]}.${m[4]}Z`);
  return Number.isNaN(d.getTime()) ? null : d;
}
