export { buildTaskBundle, buildCatalogBundles, catalogBundleTag, type BundleResource, type BundleOptions, type CatalogTask, type CatalogBundle } from './build.ts';
export { readBundleResource, readBundleContents, type BundleSource, type ResolvedBundleResource, type BundleContents } from './read.ts';
export { MAX_BUNDLE_OBJECTS, BundleAnnotation, checkBundleCompliance } from './contract.ts';
