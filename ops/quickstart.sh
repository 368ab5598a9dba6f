#!/usr/bin/env bash
# Berth in one command, as root on Debian: installs what it needs (Node.js, nginx, PHP-FPM, MariaDB,
# npm packages), starts a master on its embedded database and an agent for this machine, enrolls and
# verifies it, installs a demo site from a fixture platform (Drupal itself cannot be fetched here),
# prints its URL and a login link, then keeps master and agent running until Ctrl-C.
#
#   ops/quickstart.sh    state in ./.berth (BERTH_HOME), sites in /var/berth (BERTH_ROOT), API on :7600
set -euo pipefail
cd "$(dirname "$0")/.."
. ops/lib.sh

BERTH_HOME=${BERTH_HOME:-$PWD/.berth}
HTTP_PORT=${BERTH_HTTP_PORT:-7600}
GRPC_PORT=${BERTH_GRPC_PORT:-7601}
SERVER_NAME=${BERTH_SERVER_NAME:-local}
BERTH_ROOT=${BERTH_ROOT:-/var/berth}
DEMO_PLATFORM=demo-10-2
DEMO_SITE=${BERTH_DEMO_SITE:-demo.localhost}
export BERTH_CONFIG_DIR=$BERTH_HOME/cli
export BERTH_URL=http://127.0.0.1:$HTTP_PORT
mkdir -p "$BERTH_HOME" && chmod 700 "$BERTH_HOME"

require_node
apt_install curl
ensure_mariadb --binary-log
BERTH_ROOT=$BERTH_ROOT ops/web-services.sh
npm_install
say "building"
npm run build --silent
berth() { node bin/berth.js "$@"; }
# Master and agent run in the background as node itself (exec), not in a subshell around it: $! is
# then their pid, and stopping by it stops them (a subshell would die and leave node running).
berth_in_background() { exec node bin/berth.js "$@"; }

if [ ! -d "$BERTH_ROOT/platforms/$DEMO_PLATFORM" ]; then
  say "building the demo platform (a Drupal-shaped fixture) in $BERTH_ROOT/platforms/$DEMO_PLATFORM"
  as_root mkdir -p "$BERTH_ROOT/platforms"
  node dist/test/fixtures/build-platform.js fixture-10.2 "$BERTH_ROOT/platforms/$DEMO_PLATFORM"
fi

pids=()
stop_all() {
  trap - INT TERM EXIT
  say "stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_all INT TERM EXIT

say "starting the master (embedded database in $BERTH_HOME/master; log: $BERTH_HOME/master.log)"
berth_in_background master start --data-dir "$BERTH_HOME/master" --port "$HTTP_PORT" --grpc-port "$GRPC_PORT" \
  >>"$BERTH_HOME/master.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
  curl -fsS "$BERTH_URL/api/health" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || die "the master exited; see $BERTH_HOME/master.log"
  sleep 0.5
done
curl -fsS "$BERTH_URL/api/health" >/dev/null || die "the master did not answer; see $BERTH_HOME/master.log"
[ -f "$BERTH_CONFIG_DIR/credentials.json" ] ||
  die "no admin credentials in $BERTH_CONFIG_DIR: this data directory was started before without saving them"

if [ ! -f "$BERTH_HOME/agent/agent.crt" ]; then
  say "adding server $SERVER_NAME"
  token=$(berth server add "$SERVER_NAME" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).enrollment.token))')
  export BERTH_AGENT_TOKEN=$token
fi
say "starting the agent (log: $BERTH_HOME/agent.log)"
berth_in_background agent start --master "127.0.0.1:$GRPC_PORT" --name "$SERVER_NAME" --data-dir "$BERTH_HOME/agent" --root "$BERTH_ROOT" \
  >>"$BERTH_HOME/agent.log" 2>&1 &
pids+=($!)
unset BERTH_AGENT_TOKEN

say "verifying $SERVER_NAME"
for _ in $(seq 1 60); do
  berth server show "$SERVER_NAME" --json | grep -q '"connected": *true' && break
  kill -0 "${pids[1]}" 2>/dev/null || die "the agent exited; see $BERTH_HOME/agent.log"
  sleep 0.5
done
berth server verify "$SERVER_NAME"
berth server list

if ! berth platform show "$DEMO_PLATFORM" >/dev/null 2>&1; then
  say "adding platform $DEMO_PLATFORM"
  berth platform add "$DEMO_PLATFORM" --server "$SERVER_NAME" --path "$BERTH_ROOT/platforms/$DEMO_PLATFORM"
fi
if ! berth site show "$DEMO_SITE" >/dev/null 2>&1; then
  say "installing the demo site $DEMO_SITE"
  berth site install "$DEMO_SITE" --platform "$DEMO_PLATFORM"
fi
login=$(berth site login-reset "$DEMO_SITE" | tail -n 1)

cat <<INFO

Berth is running.
  demo site     http://$DEMO_SITE/   (curl -H 'Host: $DEMO_SITE' http://127.0.0.1/)
  log in once   $login
  API           $BERTH_URL   (OpenAPI: $BERTH_URL/api/docs)
  admin token   in $BERTH_CONFIG_DIR/credentials.json; the berth CLI reads it there
  try           BERTH_CONFIG_DIR=$BERTH_CONFIG_DIR node bin/berth.js task list
Ctrl-C stops the master and the agent; running this again picks up where it left off.
INFO
wait -n "${pids[@]}" || true
die "a Berth process exited; see $BERTH_HOME/master.log and $BERTH_HOME/agent.log"
