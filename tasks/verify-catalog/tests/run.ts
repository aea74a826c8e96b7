import { defineRunTest } from '../../../src/build/definition.ts';

/**
 * tests/run.yaml: verify the published catalog bundle against the catalog's
 * published identity and the public-good Sigstore. The tag is resolved once
 * to its digest, so the test follows new releases. It needs egress to ghcr.io.
 */
export default defineRunTest({
  description:
    "a TaskRun verifies the published catalog bundle (ghcr.io/hardened-tekton/catalog/catalog:latest) and every step image its Tasks run, against the catalog's published identity; it must succeed with the bundle's digest in `verified-bundle`. It needs egress to ghcr.io.",
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
