#!/usr/bin/env bash
# Berth in one command: installs what it needs, starts a master on its embedded database and an
# agent for this machine, enrolls and verifies it, then keeps both running until Ctrl-C.
#
#   ops/quickstart.sh            state in ./.berth (BERTH_HOME to change), API on 127.0.0.1:7600
set -euo pipefail
cd "$(dirname "$0")/.."
. ops/lib.sh

BERTH_HOME=${BERTH_HOME:-$PWD/.berth}
HTTP_PORT=${BERTH_HTTP_PORT:-7600}
GRPC_PORT=${BERTH_GRPC_PORT:-7601}
SERVER_NAME=${BERTH_SERVER_NAME:-local}
export BERTH_CONFIG_DIR=$BERTH_HOME/cli
export BERTH_URL=http://127.0.0.1:$HTTP_PORT
mkdir -p "$BERTH_HOME" && chmod 700 "$BERTH_HOME"

require_node
apt_install curl
npm_install
say "building"
npm run build --silent
berth() { node bin/berth.js "$@"; }

pids=()
stop_all() {
  trap - INT TERM EXIT
  say "stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_all INT TERM EXIT

say "starting the master (embedded database in $BERTH_HOME/master; log: $BERTH_HOME/master.log)"
berth master start --data-dir "$BERTH_HOME/master" --port "$HTTP_PORT" --grpc-port "$GRPC_PORT" \
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
berth agent start --master "127.0.0.1:$GRPC_PORT" --name "$SERVER_NAME" --data-dir "$BERTH_HOME/agent" \
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

cat <<INFO

Berth is running.
  API           $BERTH_URL   (OpenAPI: $BERTH_URL/api/docs)
  admin token   in $BERTH_CONFIG_DIR/credentials.json; the berth CLI reads it there
  try           BERTH_CONFIG_DIR=$BERTH_CONFIG_DIR node bin/berth.js task list
Ctrl-C stops the master and the agent; running this again picks up where it left off.
INFO
wait -n "${pids[@]}" || true
die "a Berth process exited; see $BERTH_HOME/master.log and $BERTH_HOME/agent.log"
