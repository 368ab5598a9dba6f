#!/usr/bin/env bash
# The test command (README, CI): installs what the suite needs, builds, lints, runs every tier.
set -euo pipefail
cd "$(dirname "$0")/.."
. ops/lib.sh

require_node
ops/test-services.sh
ops/web-services.sh --packages-only
# Test hosts (test/support/test-hosts.ts): network namespaces, each db host its own mariadbd.
apt_install iproute2 mariadb-server mariadb-client
# The web UI's end-to-end test drives Debian's Chromium (playwright-core, /usr/bin/chromium).
apt_install chromium
# HTTPS tests get their certificates from pebble, an ACME test server, started on loopback.
apt_install pebble
npm_install
say "building"
npm run build --silent
say "lint: tsc, eslint, prettier"
npm run lint --silent
say "tests: unit, integration, end-to-end"
# Arguments (a file, a project, -t ...): one vitest run with them, as given.
if [ "$#" -gt 0 ]; then exec npx vitest run "$@"; fi
# The wall-clock e2e files (vitest project e2e-clock: per-minute schedules) are idle most of their
# minutes: a second vitest process runs them beside the rest (one process runs its projects one
# after the other), its output printed after, and either failing fails the whole.
mkdir -p test-artifacts
npx vitest run --project e2e-clock >test-artifacts/e2e-clock.log 2>&1 &
clock=$!
status=0
npx vitest run --project unit --project integration --project e2e || status=$?
clock_status=0
wait "$clock" || clock_status=$?
say "tests that wait for the wall clock (test-artifacts/e2e-clock.log)"
cat test-artifacts/e2e-clock.log
[ "$clock_status" -eq 0 ] || status=$clock_status
exit "$status"
