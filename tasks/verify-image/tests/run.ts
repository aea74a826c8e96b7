import { defineRunTest } from '../../../src/build/definition.ts';

/**
 * tests/run.yaml: verify a public image that Google signs keyless with the
 * public-good Sigstore (distroless's README: cosign verify $IMAGE
 * --certificate-oidc-issuer https://accounts.google.com
 * --certificate-identity keyless@distroless.iam.gserviceaccount.com). The
 * tag is resolved to its digest, so the test keeps working as the tag
 * moves. It needs egress to gcr.io.
 */
export default defineRunTest({
  description:
    "a TaskRun verifies gcr.io/distroless/static-debian12:nonroot, signed keyless by distroless's Google service account, against the embedded public-good trusted root; it must succeed with the digest in `verified-image`. It needs egress to gcr.io.",
  documents: [
    {
      apiVersion: 'tekton.dev/v1',
      kind: 'TaskRun',
      // Tells this repository's harness that the run needs the internet; it then runs offline and expects only that to fail.
      metadata: { name: 'verify-image-run', annotations: { 'hardened-tekton.dev/test-needs-egress': 'gcr.io' } },
      spec: {
        taskRef: { name: 'verify-image' },
        params: [
          { name: 'images', value: ['gcr.io/distroless/static-debian12:nonroot'] },
          { name: 'certificate-identity', value: 'keyless@distroless.iam.gserviceaccount.com' },
          { name: 'certificate-oidc-issuer', value: 'https://accounts.google.com' },
        ],
      },
    },
  ],
});
