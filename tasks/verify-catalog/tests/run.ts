import { defineRunTest } from '../../../src/build/definition.ts';

/**
 * tests/run.yaml: verify the published catalog bundle against the catalog's
 * published release identity (the Task's defaults) and the embedded
 * public-good Sigstore root. The tag is resolved to its digest, so the test
 * follows each release. It needs egress to ghcr.io.
 */
export default defineRunTest({
  description:
    "a TaskRun verifies the published catalog bundle ghcr.io/hardened-tekton/catalog/catalog:latest and every step image its Tasks run against the catalog's published identity and the embedded public-good trusted root; it must succeed with the bundle's digest in `verified-bundle`. It needs egress to ghcr.io and a published catalog.",
  documents: [
    {
      apiVersion: 'tekton.dev/v1',
      kind: 'TaskRun',
      // Tells this repository's harness that the run needs the internet; it then runs offline and expects only that to fail.
      metadata: { name: 'verify-catalog-run', annotations: { 'hardened-tekton.dev/test-needs-egress': 'ghcr.io' } },
      spec: {
        taskRef: { name: 'verify-catalog' },
        params: [{ name: 'bundle', value: 'ghcr.io/hardened-tekton/catalog/catalog:latest' }],
      },
    },
  ],
});
