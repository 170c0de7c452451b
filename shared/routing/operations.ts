import { EdgetuneError } from '../errors.ts';
import { MAX_PREVIOUS_STABLES, type RoutingDoc, RoutingDocSchema } from './schema.ts';
import { assertName } from '../names.ts';
import { casUpdateJson } from '../store/cas.ts';
import { putJson, readJson } from '../store/json.ts';
import { keys } from '../store/keys.ts';
import type { ObjectStore } from '../store/types.ts';
import { readRoutingHistory, type RoutingHistoryEntry, stableStackFromHistory } from './history.ts';

export interface RoutingState {
  doc: RoutingDoc;
  etag: string;
}

export interface RoutingChangeOptions {
  /** Why (kept in the document and in the history). */
  reason?: string;
  /** Compare-and-swap attempts before giving up with `conflict` (default 20). */
  maxAttempts?: number;
  now?: () => Date;
  /**
   * The ETag the caller last read (HTTP If-Match). When the document has changed since, the
   * change is refused with `precondition_failed` instead of being re-applied on the new document:
   * a client replacing the whole document must not overwrite a change it has not seen.
   */
  ifMatch?: string;
}

/** ETags compare without weak prefixes or quotes, so `"abc"`, `abc` and `W/"abc"` are one tag. */
function sameEtag(a: string, b: string): boolean {
  const bare = (t: string) => t.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
  return bare(a) === bare(b);
}

export interface RoutingUpdate {
  doc: RoutingDoc;
  previous: RoutingDoc | null;
  etag: string;
  /** False when the change was a no-op and nothing was written. */
  changed: boolean;
  attempts: number;
}

/**
 * Returns the next document for the current one (null: nothing to do). It may run several
 * times — once per compare-and-swap attempt — so it must not have side effects.
 */
export type RoutingChange = (current: RoutingDoc | null) => RoutingDoc | null | Promise<RoutingDoc | null>;

const EMPTY: RoutingDoc = { stable: null, candidates: [], shadow: null };

/**
 * Whether a version is visible (its manifest exists: publish writes it last). Routing is what
 * asks, so it lives here and routing needs nothing from the registry folder (which uses routing).
 */
export async function versionExists(store: ObjectStore, name: string, version: string): Promise<boolean> {
  return (
    (await store.head(keys.manifest(assertName('model', name), assertName('version', version)))) !== null
  );
}

/** The validated routing document and its ETag; null when the model has none yet. */
export async function readRouting(store: ObjectStore, name: string): Promise<RoutingState | null> {
  const read = await readJson(store, keys.routing(name), RoutingDocSchema);
  return read ? { doc: read.value, etag: read.etag } : null;
}

/** Every version a document sends traffic to (stable, candidates, shadow). */
export function routedVersions(doc: RoutingDoc): string[] {
  const out = new Set<string>();
  if (doc.stable) out.add(doc.stable);
  for (const c of doc.candidates) out.add(c.version);
  if (doc.shadow) out.add(doc.shadow.version);
  return [...out];
}

/**
 * The one way routing changes: read (with ETag) → change → validate → refuse versions that do not
 * exist → write with If-Match (If-None-Match: * when absent) → on a lost race re-read and re-apply
 * → append the change to the history. Two writers racing therefore both land, one after the other.
 */
export async function updateRouting(
  store: ObjectStore,
  name: string,
  action: string,
  change: RoutingChange,
  options: RoutingChangeOptions = {},
): Promise<RoutingUpdate> {
  assertName('model', name);
  const now = options.now ?? (() => new Date());
  let at = now();
  const result = await casUpdateJson(
    store,
    keys.routing(name),
    RoutingDocSchema,
    async (current) => {
      const wanted = options.ifMatch;
      if (wanted !== undefined && !(current && (wanted.trim() === '*' || sameEtag(current.etag, wanted)))) {
        throw new EdgetuneError(
          'precondition_failed',
          `routing for ${name} has changed since ETag ${options.ifMatch} (now ${current?.etag ?? 'absent'}): read it again`,
        );
      }
      const proposed = await change(current?.value ?? null);
      if (proposed === null) return null;
      at = now();
      const parsed = RoutingDocSchema.safeParse({
        ...proposed,
        updatedAt: at.toISOString(),
        reason: options.reason ?? action,
      });
      if (!parsed.success) {
        throw new EdgetuneError(
          'bad_request',
          `invalid routing for ${name}: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
        );
      }
      const next = parsed.data;
      const state = current ? { doc: current.value, etag: current.etag } : null;
      next.previousStables =
        action === 'rollback'
          ? (next.previousStables ?? [])
          : await nextStableStack(store, name, state, next.stable);
      const before = new Set(current ? routedVersions(current.value) : []);
      for (const v of routedVersions(next)) {
        if (!before.has(v) && !(await versionExists(store, name, v))) {
          throw new EdgetuneError('not_found', `cannot route ${name} to ${v}: that version does not exist`);
        }
      }
      return next;
    },
    { maxAttempts: options.maxAttempts ?? 20, label: `routing for ${name}` },
  );
  const previous = result.previous?.value ?? null;
  if (!result.changed || !result.value) {
    return {
      doc: result.value ?? EMPTY,
      previous,
      etag: result.etag,
      changed: false,
      attempts: result.attempts,
    };
  }
  const entry: RoutingHistoryEntry = {
    schema: 1,
    at: at.toISOString(),
    action,
    reason: options.reason,
    previous,
    next: result.value,
    previousEtag: result.previous?.etag ?? null,
    etag: result.etag,
  };
  await putJson(store, keys.routingHistory(name, at, randomSuffix()), entry, { ifNoneMatch: '*' });
  return { doc: result.value, previous, etag: result.etag, changed: true, attempts: result.attempts };
}

/** Sends `weight` percent of traffic to `version` (0 removes it from the candidates). */
export async function rollout(
  store: ObjectStore,
  name: string,
  version: string,
  weight: number,
  options?: RoutingChangeOptions,
): Promise<RoutingUpdate> {
  assertName('version', version);
  if (!Number.isFinite(weight) || weight < 0 || weight > 100) {
    throw new EdgetuneError('bad_request', `weight must be between 0 and 100, got ${weight}`);
  }
  return updateRouting(
    store,
    name,
    'rollout',
    (cur) => {
      const doc = cur ?? EMPTY;
      if (doc.stable === version) {
        throw new EdgetuneError('conflict', `${name} ${version} is already the stable version`);
      }
      const existing = doc.candidates.find((c) => c.version === version);
      if (existing?.weight === weight || (!existing && weight === 0)) return null;
      const candidates =
        weight === 0
          ? doc.candidates.filter((c) => c.version !== version)
          : existing
            ? doc.candidates.map((c) => (c.version === version ? { version, weight } : c))
            : [...doc.candidates, { version, weight }];
      const total = candidates.reduce((s, c) => s + c.weight, 0);
      if (total > 100 + 1e-9) {
        throw new EdgetuneError('bad_request', `candidate weights of ${name} would sum to ${total} > 100`);
      }
      return { ...doc, candidates };
    },
    options,
  );
}

/** Makes `version` stable; it leaves the candidates (and the shadow slot, if it was there). */
export async function promote(
  store: ObjectStore,
  name: string,
  version: string,
  options?: RoutingChangeOptions,
): Promise<RoutingUpdate> {
  assertName('version', version);
  return updateRouting(
    store,
    name,
    'promote',
    (cur) => {
      const doc = cur ?? EMPTY;
      if (doc.stable === version) return null;
      return {
        ...doc,
        stable: version,
        candidates: doc.candidates.filter((c) => c.version !== version),
        shadow: doc.shadow?.version === version ? null : doc.shadow,
      };
    },
    options,
  );
}

/**
 * The earlier stables of the current document; one written before documents carried them gets
 * them replayed from the history (once: the next write stores them).
 */
async function previousStables(store: ObjectStore, name: string, state: RoutingState): Promise<string[]> {
  if (state.doc.previousStables) return state.doc.previousStables;
  const history = await readRoutingHistory(store, name, state.etag);
  return stableStackFromHistory(history, state.doc.stable);
}

/** The stack after a change other than a rollback: the outgoing stable is pushed. */
async function nextStableStack(
  store: ObjectStore,
  name: string,
  current: RoutingState | null,
  nextStable: string | null,
): Promise<string[]> {
  if (!current) return [];
  const stack = await previousStables(store, name, current);
  const outgoing = current.doc.stable;
  if (outgoing === null || outgoing === nextStable) return stack;
  return [...stack, outgoing].slice(-MAX_PREVIOUS_STABLES);
}

/** Back to the stable version before the current one: pops the document's `previousStables`. */
export async function rollback(
  store: ObjectStore,
  name: string,
  options?: RoutingChangeOptions,
): Promise<RoutingUpdate> {
  assertName('model', name);
  return updateRouting(
    store,
    name,
    'rollback',
    async (cur) => {
      if (!cur?.stable)
        throw new EdgetuneError('conflict', `${name} has no stable version to roll back from`);
      // A document from before `previousStables` existed: replay the history, re-read on every
      // attempt so that it matches the document we replace.
      const state = cur.previousStables ? null : await readRouting(store, name);
      const stack = [...(state ? await previousStables(store, name, state) : (cur.previousStables ?? []))];
      let target: string | undefined;
      // Skip the current version and versions deleted since they were stable.
      do target = stack.pop();
      while (target !== undefined && (target === cur.stable || !(await versionExists(store, name, target))));
      if (!target) throw new EdgetuneError('conflict', `${name}: no earlier stable version to roll back to`);
      return {
        ...cur,
        stable: target,
        previousStables: stack,
        candidates: cur.candidates.filter((c) => c.version !== target),
        shadow: cur.shadow?.version === target ? null : cur.shadow,
      };
    },
    options,
  );
}

/** Mirrors a `sample` fraction of requests to `version` (answers are never returned). */
export async function setShadow(
  store: ObjectStore,
  name: string,
  version: string,
  sample: number,
  options?: RoutingChangeOptions,
): Promise<RoutingUpdate> {
  assertName('version', version);
  if (!Number.isFinite(sample) || sample < 0 || sample > 1) {
    throw new EdgetuneError('bad_request', `shadow sample must be between 0 and 1, got ${sample}`);
  }
  return updateRouting(
    store,
    name,
    'shadow',
    (cur) => {
      const doc = cur ?? EMPTY;
      if (doc.shadow?.version === version && doc.shadow.sample === sample) return null;
      return { ...doc, shadow: { version, sample } };
    },
    options,
  );
}

export async function clearShadow(
  store: ObjectStore,
  name: string,
  options?: RoutingChangeOptions,
): Promise<RoutingUpdate> {
  return updateRouting(
    store,
    name,
    'shadow-clear',
    (cur) => (cur?.shadow ? { ...cur, shadow: null } : null),
    options,
  );
}

/** Replaces the whole document (admin API); validated like every other change. */
export async function setRouting(
  store: ObjectStore,
  name: string,
  doc: unknown,
  options?: RoutingChangeOptions,
): Promise<RoutingUpdate> {
  const parsed = RoutingDocSchema.safeParse(doc);
  if (!parsed.success) {
    throw new EdgetuneError(
      'bad_request',
      `invalid routing document: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
    );
  }
  const { updatedAt: _u, reason: _r, ...wanted } = parsed.data;
  return updateRouting(store, name, 'set', () => wanted, options);
}

function randomSuffix(): string {
  const bytes = new Uint8Array(6);
  crypto.getRandomValues(bytes);
  let out = '';
  for (const b of bytes) out += b.toString(36).padStart(2, '0');
  return out.slice(0, 10);
}
