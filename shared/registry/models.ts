import type { RoutingDoc } from '../routing/schema.ts';
import { errorMessage } from '../errors.ts';
import { assertName, isValidName } from '../names.ts';
import { keys, MODELS_PREFIX } from '../store/keys.ts';
import type { ObjectStore } from '../store/types.ts';
import { readRouting } from '../routing/operations.ts';
import { listVersionIds, listVersions, type PublishedManifest } from './versions.ts';

export interface ModelSummary {
  name: string;
  versions: string[];
  latest: string | null;
  stable: string | null;
  candidates: RoutingDoc['candidates'];
  shadow: RoutingDoc['shadow'];
  /** Set when something under this model could not be read (e.g. a corrupt routing document). */
  problem?: string;
}

export interface VersionSummary {
  version: string;
  createdAt: string;
  sha256: string;
  size: number;
  labels: number;
  metrics: Record<string, number>;
  parent: string | null;
  backbone: string;
}

export interface ModelDetails {
  name: string;
  versions: VersionSummary[];
  routing: RoutingDoc | null;
  routingEtag: string | null;
}

/** Model names present in the store (folders under `models/` with a valid name), sorted. */
export async function listModelNames(store: ObjectStore): Promise<string[]> {
  const { prefixes } = await store.list(MODELS_PREFIX, { delimiter: '/' });
  return prefixes
    .map((p) => p.slice(MODELS_PREFIX.length, -1))
    .filter(isValidName)
    .sort();
}

export async function listModels(store: ObjectStore): Promise<ModelSummary[]> {
  const names = await listModelNames(store);
  const out: ModelSummary[] = [];
  for (const name of names) {
    const versions = await listVersionIds(store, name);
    const summary: ModelSummary = {
      name,
      versions,
      latest: versions[versions.length - 1] ?? null,
      stable: null,
      candidates: [],
      shadow: null,
    };
    try {
      const routing = await readRouting(store, name);
      if (routing)
        Object.assign(summary, {
          stable: routing.doc.stable,
          candidates: routing.doc.candidates,
          shadow: routing.doc.shadow,
        });
    } catch (e) {
      // One broken model must not hide the others from the listing; it is reported instead.
      summary.problem = errorMessage(e);
    }
    if (versions.length > 0 || summary.problem || (await store.head(keys.routing(name)))) out.push(summary);
  }
  return out;
}

export async function showModel(store: ObjectStore, name: string): Promise<ModelDetails> {
  assertName('model', name);
  const [manifests, routing] = await Promise.all([listVersions(store, name), readRouting(store, name)]);
  return {
    name,
    versions: manifests.map(summarise),
    routing: routing?.doc ?? null,
    routingEtag: routing?.etag ?? null,
  };
}

export function summarise(m: PublishedManifest): VersionSummary {
  return {
    version: m.version,
    createdAt: m.createdAt,
    sha256: m.model.sha256,
    size: m.model.size,
    labels: m.labels.length,
    metrics: m.metrics,
    parent: m.parent,
    backbone: m.backbone.source,
  };
}
