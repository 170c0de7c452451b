/**
 * Which version answers a request, and running it. Explicit versions (path or `x-model-version`)
 * are honoured exactly — a pinned caller gets that version or an error. Routed requests go
 * through the shared version-choice function; when the routed version cannot be loaded (checksum
 * mismatch, corrupt file, or it needs the full Worker build) the request falls back to the stable version and then to the version
 * this isolate last served, so a bad upload never takes a model down.
 */
import { EdgetuneError } from '../../shared/errors.ts';
import { chooseVersion, shadowVersion } from '../../shared/routing/choose.ts';
import type { ModelManifest } from '../../shared/manifest/manifest.ts';
import type { ModelCache, RoutingView } from './models.ts';
import type { PrecisionMode } from './precision.ts';
import type { ModelSession } from './session.ts';

/** pinned / sticky / weighted come from the shared choice; newest = no routing document yet. */
export type RouteReason = 'pinned' | 'sticky' | 'weighted' | 'newest' | 'fallback';

export interface ServeRequest {
  name: string;
  explicit?: string;
  userKey?: string;
  /** 'fp32': this request is served from the fp32 export even where int8 is the default. */
  precision?: PrecisionMode;
  /**
   * Called with a version's manifest just before its session is loaded (not when it is resident
   * or the version is refused), so the caller can start work that needs only the manifest while
   * the model files are read.
   */
  beforeLoad?: (manifest: ModelManifest) => void;
}

export interface Served<T> {
  version: string;
  reason: RouteReason;
  result: T;
  /** The shadow version to mirror this request to, when sampled. */
  shadow: string | null;
}

// A routed version this build cannot run (needs_full_build) also falls back: a candidate rolled
// out to an engine-only deployment must not fail its share of traffic. Pinned requests still 422.
const LOAD_FAILURES = new Set(['checksum_mismatch', 'corrupt', 'needs_full_build']);

export class Server {
  /** Last version that answered a routed request, per model (the fallback of last resort). */
  private readonly lastGood = new Map<string, string>();

  constructor(
    readonly cache: ModelCache,
    private readonly random: () => number = Math.random,
  ) {}

  async serve<T>(req: ServeRequest, fn: (session: ModelSession) => Promise<T>): Promise<Served<T>> {
    const { name, explicit, precision } = req;
    if (explicit) {
      const manifest = await this.cache.manifest(name, explicit); // 404 before anything is downloaded
      await this.announce(req, name, explicit, manifest);
      const result = await this.cache.use(name, explicit, fn, precision);
      // Routing only decides the shadow here; a pinned request is served even if it is unreadable.
      const view = await this.cache.routing(name).catch(() => null);
      return {
        version: explicit,
        reason: 'pinned',
        result,
        shadow: view ? this.shadowFor(view, explicit) : null,
      };
    }
    const view = await this.cache.routing(name);
    const first = this.route(view, name, req.userKey);
    if (!first) throw new EdgetuneError('not_found', `model ${name} not found (no published version)`);
    const tried: string[] = [];
    let firstError: unknown;
    for (const [version, reason] of this.candidates(view, name, first)) {
      if (tried.includes(version)) continue;
      tried.push(version);
      try {
        // Routed versions exist (routing names only published ones), so a cold load may start
        // reading the engine artifact beside the manifest; a pinned request reads the manifest
        // first, so that a made-up version costs one read.
        const early = this.cache.startArtifactRead(name, version, precision);
        await this.announce(req, name, version);
        await this.cache.load(name, version, precision, early);
      } catch (e) {
        if (e instanceof EdgetuneError && LOAD_FAILURES.has(e.code)) {
          firstError ??= e;
          continue;
        }
        throw e;
      }
      const result = await this.cache.use(name, version, fn, precision);
      if (reason !== 'fallback') this.lastGood.set(name, version);
      return { version, reason, result, shadow: this.shadowFor(view, version) };
    }
    throw firstError;
  }

  /** Tells `req.beforeLoad` about name@version when its session is about to be loaded. */
  private async announce(req: ServeRequest, name: string, version: string, manifest?: ModelManifest) {
    if (!req.beforeLoad || !(await this.cache.willLoad(name, version, req.precision))) return;
    req.beforeLoad(manifest ?? (await this.cache.manifest(name, version)));
  }

  /** The version a routed request would get, without running anything (metadata endpoints). */
  async resolve(name: string, userKey?: string): Promise<string> {
    const version = this.route(await this.cache.routing(name), name, userKey)?.[0];
    if (!version) throw new EdgetuneError('not_found', `model ${name} not found (no published version)`);
    return version;
  }

  private route(view: RoutingView, name: string, userKey: string | undefined): [string, RouteReason] | null {
    // Salted with the model name so one user's bucket is independent across models.
    const chosen = view.doc ? chooseVersion(view.doc, { userKey, salt: name, random: this.random }) : null;
    if (chosen) return [chosen.version, chosen.via];
    return view.newest ? [view.newest, 'newest'] : null;
  }

  private *candidates(view: RoutingView, name: string, first: [string, RouteReason]) {
    yield first;
    if (view.doc?.stable) yield [view.doc.stable, 'fallback'] as [string, RouteReason];
    const last = this.lastGood.get(name);
    if (last) yield [last, 'fallback'] as [string, RouteReason];
  }

  private shadowFor(view: RoutingView, served: string): string | null {
    return view.doc ? shadowVersion(view.doc, served, this.random) : null;
  }
}
