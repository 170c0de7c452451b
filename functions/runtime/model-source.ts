import type { ModelManifest } from '../../shared/manifest/manifest.ts';
import type { RoutingDoc } from '../../shared/routing/schema.ts';

/**
 * What the model cache needs from storage. The production implementation (functions/runtime/services.ts)
 * goes through the shared registry over the R2 binding; tests can pass the same one.
 */
export interface ModelSource {
  /** The validated manifest; throws EdgetuneError 'not_found' or 'corrupt'. */
  readManifest(name: string, version: string): Promise<ModelManifest>;
  /** A file inside a version folder, or null when absent. */
  readFile(name: string, version: string, file: string): Promise<Uint8Array | null>;
  /** The routing document and its ETag, or null when the model has none yet. */
  readRouting(name: string): Promise<{ doc: RoutingDoc; etag: string } | null>;
  /** The newest published (visible) version, or null when the model has none. */
  latestVersion(name: string): Promise<string | null>;
}
