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
npm_install
say "building"
npm run build --silent
say "lint: tsc, eslint, prettier"
npm run lint --silent
say "tests: unit, integration, end-to-end"
npx vitest run "$@"
