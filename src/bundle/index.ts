export { buildTaskBundle, buildCatalogBundles, compareVersions, type BundleResource, type BundleOptions, type CatalogTask, type CatalogBundle } from './build.ts';
export { readBundleResource, type BundleSource, type ResolvedBundleResource } from './read.ts';
export { MAX_BUNDLE_OBJECTS, BundleAnnotation, checkBundleCompliance } from './contract.ts';
