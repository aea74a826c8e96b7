export { publishLayout, renderSummary, progressLine, DEFAULT_LAYOUT_DIR, DEFAULT_RECORD_PATH, type PublishOptions, type PublishRecord, type PublishedArtefact } from './publish.ts';
export { planPublish, parseRegistryTarget, type PlannedArtefact, type RegistryTarget, type ArtefactKind } from './plan.ts';
