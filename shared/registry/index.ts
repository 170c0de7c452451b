/** The model registry: versions, publish, routing documents (and their history) in an ObjectStore. */
export { type DeleteResult, deleteVersion } from './delete.ts';
export {
  orderByChain,
  type RoutingHistoryEntry,
  RoutingHistoryEntrySchema,
  readRoutingHistory,
  rollbackTarget,
  stableStackFromHistory,
} from './history.ts';
export {
  listModelNames,
  listModels,
  type ModelDetails,
  type ModelSummary,
  showModel,
  summarise,
  type VersionSummary,
} from './models.ts';
export { type PublishInput, type PublishOptions, type PublishResult, publishVersion } from './publish.ts';
export {
  clearShadow,
  promote,
  type RoutingChange,
  type RoutingChangeOptions,
  type RoutingState,
  type RoutingUpdate,
  readRouting,
  rollback,
  rollout,
  routedVersions,
  setRouting,
  setShadow,
  updateRouting,
} from './routing.ts';
export {
  getManifest,
  latestVersionId,
  listVersionFolders,
  listVersionIds,
  listVersions,
  type PublishedManifest,
  PublishedManifestSchema,
  requireManifest,
  versionExists,
} from './versions.ts';
