#!/usr/bin/env bash
# Makes sure the tools the tests use are installed: the README's test command
# (npm test, through scripts/test.sh) and .ci/run both call this one script.
# As root it installs what is missing from Debian's archive; otherwise it stops
# with one message naming what is missing and the command that installs it.
# Prints nothing when everything is there.
set -euo pipefail

# The tests run the step programs as uid 65532, the images' user, straight from
# this checkout (its node binary and bundles). As root, every folder above the
# checkout must let that user in: a clone inside a folder closed to others (root's
# home is 0700) would fail dozens of tests with "exit 126" and no reason.
step_uid=65532
# (Only where root may switch users at all: otherwise this check could not tell a closed folder from that.)
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1 &&
  setpriv --reuid=$step_uid --regid=$step_uid --clear-groups true 2>/dev/null; then
  repo=$(cd "$(dirname "$0")/.." && pwd -P)
  IFS=/ read -r -a parts <<<"${repo#/}"
  dir=
  for part in "${parts[@]}"; do
    dir=$dir/$part
    if ! setpriv --reuid=$step_uid --regid=$step_uid --clear-groups test -x "$dir" 2>/dev/null; then
      echo "provision: the tests run step programs as uid $step_uid (the images' user), which cannot enter $dir, a folder above this checkout ($repo)." >&2
      echo "provision: clone the repository where other users may enter (for example under /srv), or open that folder:  chmod o+x $(printf %q "$dir")" >&2
      exit 1
    fi
  done
fi

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
