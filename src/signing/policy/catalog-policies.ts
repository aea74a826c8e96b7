import { PUBLISHED_IDENTITY } from '../published-identity.ts';
import { catalogPolicyFiles, publishedPolicySigner } from './admission-policies.ts';

/** catalog/policy/: the admission policies for the catalog's own registry prefix and published identity. */
export function publishedCatalogPolicies(registry: string): Map<string, string> {
  return catalogPolicyFiles({ registry, signer: publishedPolicySigner(PUBLISHED_IDENTITY), sourceRepository: PUBLISHED_IDENTITY.sourceRepository });
}
