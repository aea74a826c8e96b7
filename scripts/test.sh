#!/usr/bin/env bash
# The README's test command (npm test). Provisions the tools the tests need,
# type-checks, builds the test catalog, runs tap, and closes with one plain line
# of counts. Every skipped test is listed by name and reason, and under CI=true
# any skip fails the run: CI must never pass by skipping.
# Extra arguments go to tap, e.g. `npm test -- test/params/types.test.ts`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/provision.sh
if [ "$(id -u)" -ne 0 ]; then
  echo "test: not root, so the tests that run step images under chroot will be skipped (and fail under CI=true)" >&2
fi
npx --no-install tsc --noEmit -p tsconfig.json
node scripts/test-prepare.ts

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
npx --no-install tap "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# tap's own summary is a JSON-ish comment: "# { total: 7778, pass: 7778, skip: 2 }".
summary=$(grep -E '^# \{ total: ' "$log" | tail -n 1 || true)
count() { sed -nE "s/.*[{ ]$1: ([0-9]+).*/\1/p" <<<"$summary"; }
pass=$(count pass); fail=$(count fail); skip=$(count skip); todo=$(count todo)
# Every "# SKIP" line, with the test file it sits in (the last top-level subtest).
skipped=$(awk '/^# Subtest: /{file=$3} /^ok [0-9]+ - .* # SKIP/{sub(/^ok [0-9]+ - /,""); print "  " $0} /^ +ok [0-9]+ - .* # SKIP/{line=$0; sub(/^ +ok [0-9]+ - /,"",line); print "  " file ": " line}' "$log")
if [ -n "$skipped" ]; then
  echo "skipped tests:"
  echo "$skipped"
fi
echo "tests: ${pass:-0} passed, ${fail:-0} failed, ${skip:-0} skipped${todo:+, $todo todo}"
if [ "$status" -eq 0 ] && [ "${CI:-}" = "true" ] && [ "${skip:-0}" -gt 0 ]; then
  echo "test: CI=true and ${skip} test(s) skipped; CI must run every test" >&2
  status=1
fi
[ -n "$summary" ] || echo "test: tap printed no summary (exit $status)" >&2
exit "$status"
