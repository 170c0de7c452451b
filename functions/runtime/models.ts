/**
 * The per-isolate model cache. Sessions are keyed by name@version; concurrent requests for a
 * version that is still loading share one load (single flight), waiting for it on timers of their
 * own rather than on the loading request's promise (shared/own-wait.ts); the least recently used idle
 * sessions are released when the estimated heap use passes the budget. Every file is checked
 * against the manifest's sha256 before a session is created: a mismatch refuses that version
 * (remembered for a while, so a corrupt upload is not fetched again on every request) while the
 * versions already loaded keep serving. Each version runs on the edgetune engine when its manifest
 * says it was validated there (and the engine accepts the graph), else on onnxruntime-web — which
 * only the full build has; the engine-only build answers such a version with 'needs_full_build'.
 */
import { EdgetuneError, errorMessage } from '../../shared/errors.ts';
import { listsEngine, type ModelManifest } from '../../shared/manifest/manifest.ts';
import type { RoutingDoc } from '../../shared/routing/schema.ts';
import { ENGINES, type EngineName } from '../../shared/inference/engines.ts';
import type { EngineArtifact } from '../../shared/engine/index.ts';
import type { EngineLoadOptions } from '../../shared/inference/engine-runner.ts';
import type { InferenceRunner } from '../../shared/inference/runner.ts';
import { verifyVersionFile } from '../../shared/registry/model-file.ts';
import { type Backends, createBackend, type EdgeEngineName, needsFullBuild } from './backends.ts';
import type { ModelSource } from './model-source.ts';
import {
  type EarlyArtifactRead,
  readEngineArtifact,
  startEarlyArtifactRead,
  warnArtifactOnce,
} from './models-engine-artifact.ts';
import { type Int8Choice, int8Choice, type Precision, type PrecisionMode } from './precision.ts';
import { InFlight, ownTick } from '../../shared/own-wait.ts';
import { ModelSession } from './session.ts';

/** `auto`: the engine for versions validated on it, onnxruntime-web otherwise; `onnxruntime`: always ORT. */
export type EngineMode = 'auto' | 'onnxruntime';

export interface ModelCacheOptions {
  source: ModelSource;
  budgetBytes: number;
  routingTtlMs: number;
  /** How long a refused (corrupt) version stays refused before it is tried again. */
  refusalTtlMs?: number;
  now?: () => number;
  /** Which engine serves versions that list the edgetune engine in their manifest (default auto). */
  engine?: EngineMode;
  /** Whether a version's published int8 variant is served on the engine (default auto). */
  precision?: PrecisionMode;
  /** The engines this Worker build has (the engine always, onnxruntime-web in the full build). */
  backends: Backends;
  /** Injected for tests; defaults to `createBackend` with `backends`. */
  createBackend?: BackendFactory;
}

type BackendFactory = (
  engine: EdgeEngineName,
  bytes: Uint8Array,
  optimized: boolean,
  load?: EngineLoadOptions,
) => Promise<InferenceRunner>;

/** What routing says for a model, as cached: the document, or the newest version when there is none. */
export interface RoutingView {
  doc: RoutingDoc | null;
  etag: string | null;
  /** The newest published version, used when no routing document names a stable version. */
  newest: string | null;
}

interface Entry {
  session: ModelSession;
  lastUsed: number;
  leases: number;
  evicted: boolean;
}

interface RoutingEntry {
  view?: RoutingView;
  fetchedAt: number;
  /** Re-reads finished (stored a view or kept the last good one), so a waiter sees one end. */
  reads: number;
}

export interface CacheStats {
  usedBytes: number;
  budgetBytes: number;
  loads: number;
  evictions: number;
  engine: EngineMode;
  /** Which Worker build answers: `engine` (no onnxruntime-web) or `full`. */
  build: Backends['build'];
  sessions: {
    key: string;
    cost: number;
    file: string;
    engine: EngineName;
    variant: string;
    precision: Precision;
    /** Whether the session's weights came from the version's engine artifact. */
    engineArtifact: boolean;
  }[];
  refused: string[];
  /** Versions listed for the engine that fell back to onnxruntime-web in this isolate, with why. */
  engineFallbacks: Record<string, string>;
}

const MANIFEST_CACHE_LIMIT = 512;
const ROUTING_CACHE_LIMIT = 1024;

export class ModelCache {
  private readonly entries = new Map<string, Entry>();
  /** Keys some request is loading now (plain state, not a promise: see loadKey). */
  private readonly loading: InFlight<string>;
  /** Models whose routing some request is re-reading now. */
  private readonly reading: InFlight<string>;
  private readonly refused = new Map<string, { error: EdgetuneError; until: number }>();
  private readonly manifests = new Map<string, ModelManifest>();
  private readonly routes = new Map<string, RoutingEntry>();
  private readonly now: () => number;
  private readonly create: BackendFactory;
  private readonly refusalTtlMs: number;
  private readonly engineMode: EngineMode;
  private readonly fallbacks = new Map<string, string>();
  /** Recency counter for the LRU (clocks in Workers only advance on I/O, so time cannot order uses). */
  private tick = 0;
  private loads = 0;
  private evictions = 0;

  constructor(private readonly options: ModelCacheOptions) {
    this.now = options.now ?? Date.now;
    this.create =
      options.createBackend ??
      ((engine, bytes, optimized, load) => createBackend(options.backends, engine, bytes, optimized, load));
    this.refusalTtlMs = options.refusalTtlMs ?? 60_000;
    this.engineMode = options.engine ?? 'auto';
    this.loading = new InFlight(this.now);
    this.reading = new InFlight(this.now);
  }

  /**
   * Heap held by the cached sessions, summed now rather than at insert: an engine session's
   * memory grows when it plans a new batch size.
   */
  private get usedBytes(): number {
    let sum = 0;
    for (const e of this.entries.values()) sum += e.session.cost;
    return sum;
  }

  /** Manifests are immutable once published, so each is read once per isolate. */
  async manifest(name: string, version: string): Promise<ModelManifest> {
    const key = `${name}@${version}`;
    const hit = this.manifests.get(key);
    if (hit) return hit;
    const manifest = await this.options.source.readManifest(name, version);
    if (this.manifests.size >= MANIFEST_CACHE_LIMIT) this.manifests.clear();
    this.manifests.set(key, manifest);
    return manifest;
  }

  /**
   * Runs `fn` with the session for name@version, loading it if needed. The session is not
   * released while `fn` runs, even if the cache evicts it meanwhile. `precision` 'fp32' asks for
   * the version's fp32 export where its int8 variant is served by default (one request's choice).
   */
  async use<T>(
    name: string,
    version: string,
    fn: (session: ModelSession) => Promise<T>,
    precision?: PrecisionMode,
  ): Promise<T> {
    const { key, mode } = await this.sessionKey(name, version, precision);
    let entry = this.entries.get(key);
    if (!entry) {
      await this.loadKey(key, name, version, mode);
      entry = this.entries.get(key);
      // Evicted between load and use (tiny budget, many versions): load again just for this call.
      if (!entry) return this.useDetached(name, version, mode, fn);
    }
    entry.leases++;
    entry.lastUsed = ++this.tick;
    try {
      return await fn(entry.session);
    } finally {
      entry.leases--;
      if (entry.evicted && entry.leases === 0) entry.session.release();
      else if (!entry.evicted && this.usedBytes > this.options.budgetBytes) this.evict(key);
    }
  }

  /**
   * Loads (or waits for) name@version; throws 'not_found', 'corrupt' or 'checksum_mismatch'.
   * `early`: this request's read of the version's engine artifact (startArtifactRead).
   */
  async load(
    name: string,
    version: string,
    precision?: PrecisionMode,
    early?: EarlyArtifactRead,
  ): Promise<ModelSession> {
    const { key, mode } = await this.sessionKey(name, version, precision);
    return this.loadKey(key, name, version, mode, early);
  }

  /**
   * Starts reading name@version's int8 engine artifact now, for a request that will then read
   * the manifest and load the version (pass the result to `load`), so the two reads overlap.
   * Only when the load would be this request's and would serve int8: nothing about the version
   * known yet in this isolate (no manifest, session, load in flight or refusal) and int8 not
   * ruled out by ENGINE, PRECISION or the request. A version without the artifact costs one
   * read of an absent key; undefined otherwise.
   */
  startArtifactRead(name: string, version: string, precision?: PrecisionMode): EarlyArtifactRead | undefined {
    const key = `${name}@${version}`;
    if (this.engineMode !== 'auto' || this.options.precision === 'fp32' || precision === 'fp32')
      return undefined;
    if (this.manifests.has(key) || this.entries.has(key) || this.refused.has(key)) return undefined;
    if (this.loading.busy(key)) return undefined;
    return startEarlyArtifactRead(this.options.source, name, version);
  }

  /**
   * Which cached session a request for name@version gets. A request forcing fp32 shares the
   * version's usual session unless that one runs the int8 variant: only then is the fp32 export
   * loaded beside it, under its own key (so both precisions can be compared in one isolate).
   */
  private async sessionKey(
    name: string,
    version: string,
    precision: PrecisionMode | undefined,
  ): Promise<{ key: string; mode: PrecisionMode }> {
    const key = `${name}@${version}`;
    const mode = this.options.precision ?? 'auto';
    if (precision !== 'fp32' || mode === 'fp32') return { key, mode };
    const manifest = await this.manifest(name, version);
    const int8 = this.engineMode === 'auto' && listsEngine(manifest) ? int8Choice(manifest, mode) : undefined;
    if (!int8 || this.fallbacks.has(`${key} ${int8.file}`)) return { key, mode };
    return { key: `${key}#fp32`, mode: 'fp32' };
  }

  /**
   * The session for `key`, loaded by this call or by the request already loading it. A request
   * that finds the load in flight waits on its own timer ticks and then takes what the loader left
   * (the session, or the refusal); awaiting the loader's promise would resume this request inside
   * the loader's context (shared/own-wait.ts). If that load failed otherwise, this call tries again.
   */
  private async loadKey(
    key: string,
    name: string,
    version: string,
    mode: PrecisionMode,
    early?: EarlyArtifactRead,
  ): Promise<ModelSession> {
    // Checked and claimed with no await in between, so two requests never both start the load.
    for (;;) {
      const entry = this.entries.get(key);
      if (entry) return entry.session;
      const refusal = this.refused.get(key);
      if (refusal && refusal.until > this.now()) throw refusal.error;
      if (!this.loading.busy(key)) break;
      await ownTick();
    }
    const claim = this.loading.claim(key);
    try {
      const session = await this.loadUncached(name, version, mode, early);
      this.insert(key, session);
      return session;
    } catch (e) {
      if (e instanceof EdgetuneError && (e.code === 'checksum_mismatch' || e.code === 'corrupt')) {
        this.refused.set(key, { error: e, until: this.now() + this.refusalTtlMs });
      }
      throw e;
    } finally {
      this.loading.release(key, claim);
    }
  }

  /**
   * Whether a request for name@version at `precision` would load its session now: none is
   * resident and the version is not refused (a refused one fails before any file is read).
   */
  async willLoad(name: string, version: string, precision?: PrecisionMode): Promise<boolean> {
    // Only a request forcing fp32 can map to another key (sessionKey): every other one asking
    // for a resident version is answered without the lookup (each warm request asks).
    if (precision !== 'fp32' && this.entries.has(`${name}@${version}`)) return false;
    const { key } = await this.sessionKey(name, version, precision);
    if (this.entries.has(key)) return false;
    const refusal = this.refused.get(key);
    return !(refusal && refusal.until > this.now());
  }

  /** Whether name@version has a live session in this isolate. */
  isLoaded(name: string, version: string): boolean {
    return this.entries.has(`${name}@${version}`);
  }

  /**
   * The routing view, re-read from storage at most once per TTL. While one request re-reads it,
   * the others wait for that read on ticks of their own (shared/own-wait.ts says why a request
   * never awaits another's promise) and take what it stored, so a change is seen within the TTL
   * (a stale view served meanwhile would break that promise to the operator); if the read they
   * waited for is gone (its entry invalidated, its claim abandoned), they read it themselves.
   */
  async routing(name: string): Promise<RoutingView> {
    let entry = this.routes.get(name);
    if (!entry) {
      // Bounded: requests for made-up model names must not grow the map without end.
      if (this.routes.size >= ROUTING_CACHE_LIMIT) this.routes.delete(this.routes.keys().next().value!);
      entry = { fetchedAt: 0, reads: 0 };
      this.routes.set(name, entry);
    }
    if (entry.view && this.now() - entry.fetchedAt < this.options.routingTtlMs) return entry.view;
    if (this.reading.busy(name)) {
      const seen = entry.reads;
      while (this.reading.busy(name)) await ownTick();
      // Invalidated meanwhile (this isolate changed the routing): start again from the map.
      if (this.routes.get(name) !== entry) return this.routing(name);
      if (entry.view && entry.reads !== seen) return entry.view;
    }
    const claim = this.reading.claim(name);
    try {
      const view = await this.readRouting(name);
      entry.view = view;
      entry.fetchedAt = this.now();
      entry.reads++;
      return view;
    } catch (e) {
      // A storage hiccup or a corrupt routing write must not take a serving model down: keep
      // the last good view and try again after another TTL.
      if (!entry.view) throw e;
      console.warn(`routing for ${name} unreadable, keeping the last good one: ${errorMessage(e)}`);
      entry.fetchedAt = this.now();
      entry.reads++;
      return entry.view;
    } finally {
      this.reading.release(name, claim);
    }
  }

  /** Forget the cached routing for a model (after this isolate changed it through the admin API). */
  invalidateRouting(name: string): void {
    this.routes.delete(name);
  }

  stats(): CacheStats {
    const now = this.now();
    return {
      usedBytes: this.usedBytes,
      budgetBytes: this.options.budgetBytes,
      loads: this.loads,
      evictions: this.evictions,
      engine: this.engineMode,
      build: this.options.backends.build,
      sessions: [...this.entries.values()].map((e) => ({
        key: e.session.key,
        cost: e.session.cost,
        file: e.session.file,
        engine: e.session.engine,
        variant: e.session.variant,
        precision: e.session.precision,
        engineArtifact: e.session.engineArtifact,
      })),
      refused: [...this.refused].filter(([, r]) => r.until > now).map(([k]) => k),
      engineFallbacks: Object.fromEntries(this.fallbacks),
    };
  }

  private async readRouting(name: string): Promise<RoutingView> {
    const routing = await this.options.source.readRouting(name);
    const doc = routing?.doc ?? null;
    let newest: string | null = null;
    if (!doc || (doc.stable === null && doc.candidates.length === 0)) {
      newest = await this.options.source.latestVersion(name);
    }
    return { doc, etag: routing?.etag ?? null, newest };
  }

  private async loadUncached(
    name: string,
    version: string,
    mode: PrecisionMode,
    early?: EarlyArtifactRead,
  ): Promise<ModelSession> {
    const key = `${name}@${version}`;
    const manifest = await this.manifest(name, version);
    const listed = this.engineMode === 'auto' && listsEngine(manifest);
    const hasOrt = this.options.backends.ort !== undefined;
    // Refused before any file is read: nothing this build can do with the version.
    if (!hasOrt && !listed) {
      throw needsFullBuild(
        key,
        this.engineMode === 'auto'
          ? 'its manifest does not list the edgetune engine'
          : 'ENGINE is onnxruntime',
      );
    }
    const knownFallback = this.fallbacks.get(key);
    if (!hasOrt && knownFallback !== undefined)
      throw needsFullBuild(key, `the engine refused it: ${knownFallback}`);
    const int8 = listed ? int8Choice(manifest, mode) : undefined;
    if (int8) {
      // The published int8 variant on the engine's int8 kernels; anything wrong with it (a bad
      // checksum, a graph the engine refuses) leaves the fp32 export to serve the version.
      try {
        // The engine artifact first: when it carries the graph, it is all this load reads.
        const artifact = await readEngineArtifact(this.options.source, name, version, int8, early);
        const light = artifact?.graph && (await this.fromArtifactGraph(key, int8, artifact.graph, artifact));
        if (light) {
          this.loads++;
          return new ModelSession(name, version, manifest, int8.file, light, 'int8', true);
        }
        const bytes = await this.readVerified(name, version, int8);
        const weights = artifact?.snapshot;
        let refused = false;
        const backend = await this.create(ENGINES.wasm, bytes, false, {
          weights,
          onWeightsRefused: (why) => {
            refused = true;
            warnArtifactOnce(`${key} ${int8.engine?.file}`, why);
          },
        });
        this.loads++;
        const fromArtifact = weights !== undefined && !refused;
        return new ModelSession(name, version, manifest, int8.file, backend, 'int8', fromArtifact);
      } catch (e) {
        const fallbackKey = `${key} ${int8.file}`;
        if (!this.fallbacks.has(fallbackKey))
          console.warn(`${fallbackKey}: not served, using fp32: ${errorMessage(e)}`);
        if (this.fallbacks.size >= MANIFEST_CACHE_LIMIT) this.fallbacks.clear();
        this.fallbacks.set(fallbackKey, errorMessage(e));
      }
    }
    let plain: Uint8Array | undefined;
    if (listed) {
      // The engine runs the plain export: the optimised graph holds com.microsoft ops it lacks.
      plain = await this.readVerified(name, version, manifest.model);
      try {
        const backend = await this.create(ENGINES.wasm, plain, false);
        this.loads++;
        return new ModelSession(name, version, manifest, manifest.model.file, backend);
      } catch (e) {
        // Validated on the engine at export, yet refused here: serve through onnxruntime-web.
        if (!this.fallbacks.has(key)) {
          const then = hasOrt ? 'serving with onnxruntime-web' : 'the engine-only build cannot serve it';
          console.warn(`${key}: engine unavailable, ${then}: ${errorMessage(e)}`);
        }
        if (this.fallbacks.size >= MANIFEST_CACHE_LIMIT) this.fallbacks.clear();
        this.fallbacks.set(key, errorMessage(e));
        if (!hasOrt) throw needsFullBuild(key, `the engine refused it: ${errorMessage(e)}`);
      }
    }
    const optimized = manifest.optimized;
    const file = optimized?.file ?? manifest.model.file;
    const bytes =
      optimized || !plain ? await this.readVerified(name, version, optimized ?? manifest.model) : plain;
    let backend: InferenceRunner;
    try {
      backend = await this.create(ENGINES.ortWeb, bytes, optimized !== undefined);
    } catch (e) {
      throw new EdgetuneError('corrupt', `${key}: onnxruntime rejected ${file}: ${errorMessage(e)}`, {
        cause: e,
      });
    }
    this.loads++;
    return new ModelSession(name, version, manifest, file, backend);
  }

  /**
   * The int8 session from the artifact's own graph and weights (no ONNX file read), or undefined
   * (logged) when the engine will not open it: the caller then compiles the ONNX file.
   */
  private async fromArtifactGraph(
    key: string,
    int8: Int8Choice,
    graph: Uint8Array,
    artifact: EngineArtifact,
  ): Promise<InferenceRunner | undefined> {
    try {
      return await this.create(ENGINES.wasm, graph, false, {
        weights: artifact.snapshot,
        weightless: true,
      });
    } catch (e) {
      warnArtifactOnce(`${key} ${int8.engine?.file}`, `its graph: ${errorMessage(e)}`);
      return undefined;
    }
  }

  /** A version's file, checked against the manifest's size and sha256. */
  private async readVerified(
    name: string,
    version: string,
    expected: { file: string; sha256: string; size: number },
  ): Promise<Uint8Array> {
    const bytes = await this.options.source.readFile(name, version, expected.file);
    return verifyVersionFile(name, version, expected, bytes);
  }

  private insert(key: string, session: ModelSession): void {
    this.entries.set(key, { session, lastUsed: ++this.tick, leases: 0, evicted: false });
    this.evict(key);
  }

  /** Drops least-recently-used sessions until the budget holds; `keep` (just loaded) stays. */
  private evict(keep: string): void {
    const byAge = [...this.entries.entries()].sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [key, entry] of byAge) {
      if (this.usedBytes <= this.options.budgetBytes) break;
      if (key === keep) continue;
      this.entries.delete(key);
      this.evictions++;
      entry.evicted = true;
      if (entry.leases === 0) entry.session.release();
    }
  }

  private async useDetached<T>(
    name: string,
    version: string,
    mode: PrecisionMode,
    fn: (session: ModelSession) => Promise<T>,
  ): Promise<T> {
    const session = await this.loadUncached(name, version, mode);
    try {
      return await fn(session);
    } finally {
      session.release();
    }
  }
}
