/**
 * How much signature discovery reads per image. A module of its own so that
 * Task definitions can quote the bounds without loading the Sigstore libraries.
 */

/**
 * Referrers listed per image, over all pages: enough for many signers and
 * attestations, bounded so a flood cannot stall the step or exhaust its
 * memory. A longer list fails the image (REGISTRY_LIST_TOO_LONG): we do not
 * pick a part of it.
 */
export const MAX_REFERRERS = 128;
/** Pages of the referrers API followed per image; real registries answer in one. */
export const MAX_REFERRER_PAGES = 16;
/** Bytes of referrers listing read per image, over all pages. */
export const MAX_REFERRER_LIST_BYTES = 1024 * 1024;
/** Layers (signatures) of a legacy .sig manifest; cosign adds one per signing. More fails the image. */
export const MAX_LEGACY_LAYERS = 128;
