#!/usr/bin/env bash
# Makes sure the tools the tests use are installed: the README's test command
# (npm test, through scripts/test.sh) and .ci/run both call this one script.
# As root it installs what is missing from Debian's archive; otherwise it stops
# with one message naming what is missing and the command that installs it.
# Prints nothing when everything is there.
set -euo pipefail

# "command-or-path package": the tests run these as real parts or as
# independent checkers (see README, "Tests").
needs=(
  "skopeo skopeo"                    # reads our images and bundles, copies layouts
  "umoci umoci"                      # unpacks step images for the chroot tests
  "/usr/bin/docker-registry docker-registry" # CNCF distribution, the loopback registry
  "openssl openssl"                  # token-server keys, signature cross-checks
  "htpasswd apache2-utils"           # bcrypt users for the basic-auth registry
  "/usr/sbin/chroot coreutils"       # runs the unpacked step images
  "dash dash"                        # the POSIX shell the shell-inertness tests run values through
  "promtool prometheus"              # checks and unit-tests the kit's PrometheusRule alerts
  "kubectl kubernetes-client"        # kubectl kustomize builds the kit's kustomize bases
  "setfattr attr"                    # workspace-guard tests plant extended attributes
  "setfacl acl"                      # and POSIX ACLs
  "/usr/sbin/setcap libcap2-bin"     # and file capabilities
  "/usr/bin/prometheus-pushgateway prometheus-pushgateway" # the loopback Pushgateway the telemetry tests push to
)

missing=()
for need in "${needs[@]}"; do
  read -r tool package <<<"$need"
  if [[ "$tool" == /* ]]; then [ -x "$tool" ] && continue; else command -v "$tool" >/dev/null 2>&1 && continue; fi
  missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

# De-duplicated, in the order listed.
packages=$(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++' | tr '\n' ' ')
packages=${packages% }
install="apt-get update && apt-get install -y --no-install-recommends $packages"

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "provision: the tests need Debian packages that are not installed: $packages" >&2
  echo "provision: install them as root, then run the tests again:  $install" >&2
  exit 1
fi

echo "provision: installing $packages"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "provision: could not install $packages (apt-get output above); install them by hand:  $install" >&2
  exit 1
fi
