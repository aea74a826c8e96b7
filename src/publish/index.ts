export {
  publishCatalog,
  renderSummary,
  renderPlan,
  progressLine,
  DEFAULT_CATALOG_DIR,
  DEFAULT_LAYOUT_DIR,
  DEFAULT_RECORD_PATH,
  type PublishOptions,
  type PublishRecord,
  type PublishedArtefact,
  type PublishAction,
} from './publish.ts';
export { planCatalogPublish, checkRegistry, INDEX_REPOSITORY, INDEX_TAG, type PlannedArtefact, type ArtefactKind, type ArtefactSource } from './plan.ts';
export { buildIndexArtefact, readIndexArtefact, INDEX_ARTIFACT_TYPE, type IndexArtefact } from './index-artifact.ts';
export { listCatalog, renderListing, type Listing, type ListedVersion } from './list.ts';
