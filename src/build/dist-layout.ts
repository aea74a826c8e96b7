/**
 * How a build's OCI layout (dist/oci) names what it holds, and how it
 * records which registry it was built for. The build writes these names,
 * publish checks the layout against catalog/index.json through them, and
 * tests find images by them (`step-validate-params`).
 */

/** The current step image of a program (the only image version a build can make). */
export function stepRefName(program: string): string {
  return `step-${program}`;
}

/** Every Task version the index lists has its bundle in the layout. */
export function bundleRefName(task: string, version: string): string {
  return `bundle-${task}-${version}`;
}

/** Catalog bundle parts, by their registry tag ("latest", "latest-part-2", …). */
export function catalogRefName(tag: string): string {
  return `catalog-${tag}`;
}

/**
 * Annotation on the layout's index.json: the registry prefix the build
 * wrote into every Task. Publish refuses a layout built for another prefix,
 * since its Tasks would pull their step images from there.
 */
export const LAYOUT_REGISTRY_ANNOTATION = 'io.github.hardened-tekton.catalog.registry';
