import { EdgetuneError } from '../errors.ts';
import { readRouting } from '../routing/operations.ts';
import { getManifest, latestVersionId } from '../registry/versions.ts';
import type { ObjectStore } from '../store/types.ts';

/**
 * The labels feedback is checked against: the stable version's (what users are being served),
 * or the newest version's when nothing is routed yet. 404 when the model has no version.
 */
export async function servedLabels(
  store: ObjectStore,
  model: string,
): Promise<{ version: string; labels: string[] }> {
  const routing = await readRouting(store, model);
  const version = routing?.doc.stable ?? (await latestVersionId(store, model));
  const manifest = version ? await getManifest(store, model, version) : null;
  if (!version || !manifest) throw new EdgetuneError('not_found', `model ${model} has no published version`);
  return { version, labels: manifest.labels };
}

/**
 * Whether `label` is known; an unknown label is a 400 unless the policy allows new classes.
 * No policy means the defaults (new classes not allowed). Only the one flag is asked for, so
 * feedback does not depend on the jobs folder (which depends on feedback).
 */
export function checkLabel(
  label: string,
  labels: readonly string[],
  policy: { allowNewClasses?: boolean } | null,
): boolean {
  if (labels.includes(label)) return true;
  if (policy?.allowNewClasses) return false;
  const shown = labels.length > 20 ? `${labels.slice(0, 20).join(', ')}, ...` : labels.join(', ');
  throw new EdgetuneError(
    'bad_request',
    `unknown label ${JSON.stringify(label)}: expected one of ${shown} (the retrain policy does not allow new classes)`,
  );
}
