#!/usr/bin/env bash
# The release flow, as CI runs it (.github/workflows/release.yml) and as a
# maintainer can run it against a private registry:
#   bump -> build -> test -> publish -> sign and attest -> verify-catalog -> release notes
#
# The bump is a reviewed commit: change tasks/<name>/task.ts, bump its version,
# `npm run release -- <task>@<version>`, `npm run build`, commit catalog/.
# This script refuses to publish anything that commit does not build exactly.
#
# Environment:
#   REGISTRY          host/namespace the catalog was built for (default: catalog/index.json's)
#   DOCKER_CONFIG     folder holding config.json with push credentials for the registry
#   SIGNING_KEY       optional: sign with this PEM key (a CI secret) instead of keyless
#   SIGNING_KEY_PASSWORD  optional: its passphrase
#   SKIP_TESTS=true   only for a re-run of a release whose tests already passed on this commit
# Keyless signing needs the ambient OIDC token of the CI job (GitHub Actions:
# `permissions: id-token: write`). No key, token or password is ever printed.
set -euo pipefail
cd "$(dirname "$0")/.."

registry="${REGISTRY:-$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync("catalog/index.json","utf8")).registry)')}"
docker_config=()
if [ -n "${DOCKER_CONFIG:-}" ]; then docker_config=(--docker-config "$DOCKER_CONFIG/config.json"); fi
key=()
if [ -n "${SIGNING_KEY:-}" ]; then
  key=(--key env://SIGNING_KEY)
  if [ -n "${SIGNING_KEY_PASSWORD:-}" ]; then key+=(--key-password-env SIGNING_KEY_PASSWORD); fi
fi
mkdir -p dist

echo "release: build (the committed catalog must be exactly what this commit builds)"
npm run -s build -- --registry "$registry" --check

if [ "${SKIP_TESTS:-false}" != "true" ]; then
  echo "release: test"
  npm test
fi

echo "release: publish to $registry"
npm run -s publish -- --registry "$registry" "${docker_config[@]}"

echo "release: sign and attest"
npm run -s catalog -- sign "${key[@]}" "${docker_config[@]}" --record dist/sign-record.json

echo "release: verify-catalog against the registry"
public_key=()
if [ -n "${SIGNING_KEY:-}" ]; then
  node -e 'const c=require("crypto");process.stdout.write(c.createPublicKey(c.createPrivateKey({key:process.env.SIGNING_KEY,passphrase:process.env.SIGNING_KEY_PASSWORD||undefined})).export({type:"spki",format:"pem"}))' > dist/signing-key.pub
  public_key=(--public-key dist/signing-key.pub)
fi
status=0
for ref in $(node -e 'const i=JSON.parse(require("fs").readFileSync("catalog/index.json","utf8"));for(const b of i.catalogBundles)console.log(b.reference);for(const t of Object.values(i.tasks))for(const v of Object.values(t.versions))console.log(v.bundle.reference)'); do
  name=$(echo "$ref" | sed -E 's#.*/([^/@]+)(:[^@]*)?@sha256:([0-9a-f]{12}).*#\1-\3#')
  npm run -s catalog -- verify-catalog "$ref" "${public_key[@]}" "${docker_config[@]}" --report "dist/verify-catalog-$name.json" || status=1
done
[ "$status" -eq 0 ] || { echo "release: verify-catalog rejected the published catalog; nothing is announced" >&2; exit 1; }

echo "release: release notes"
node scripts/release-notes.ts > dist/release-notes.md
echo "release: done; notes in dist/release-notes.md"
