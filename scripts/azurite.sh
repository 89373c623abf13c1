#!/usr/bin/env bash
# azurite.sh - Azure Blob Storage emulator (npm devDependency `azurite`) for the integration tests, blob service only,
# in memory, on 127.0.0.1. Account devstoreaccount1 with the well-known emulator key.
#
#   bash scripts/azurite.sh start    # start in the background and wait until it answers
#   bash scripts/azurite.sh stop     # stop the instance this script started (PID file)
#   bash scripts/azurite.sh status   # exit 0 if the endpoint answers
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PORT=${AZURITE_PORT:-10000}
STATE=${AZURITE_STATE:-/tmp/effect-obstore/azurite}
PIDFILE=$STATE/azurite.pid
URL="http://127.0.0.1:$PORT/devstoreaccount1?comp=list"
mkdir -p "$STATE"
up() { curl -s -o /dev/null -m 1 "$URL"; }

case "${1:-start}" in
  status) up; exit $? ;;
  stop)
    if [[ -f $PIDFILE ]]; then
      pid=$(cat "$PIDFILE"); kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      # An Azurite left busy after heavy use can ignore SIGTERM; it must not keep the port.
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$PIDFILE"
    fi
    exit 0 ;;
  start) ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac

# One start at a time (test runs and benchmarks started together).
exec 9>"$PIDFILE.lock"; flock -w 600 9 || { echo "another start/stop of this server held the lock for 10 minutes" >&2; exit 1; }
up && { echo "azurite already answers on port $PORT"; exit 0; }
BIN=$ROOT/node_modules/.bin/azurite-blob
[[ -x $BIN ]] || { echo "azurite is not installed: run npm ci (it is a devDependency)" >&2; exit 1; }
# --inMemoryPersistence cannot be combined with --location; run from STATE so nothing lands in the checkout.
(cd "$STATE" && exec "$BIN" --blobHost 127.0.0.1 --blobPort "$PORT" --inMemoryPersistence --skipApiVersionCheck \
  --loose --disableTelemetry --silent) >"$STATE/azurite.log" 2>&1 9>&- &
echo $! >"$PIDFILE"
for _ in $(seq 1 300); do
  up && { echo "azurite ready on http://127.0.0.1:$PORT/devstoreaccount1"; exit 0; }
  kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { echo "azurite died:" >&2; cat "$STATE/azurite.log" >&2; exit 1; }
  sleep 0.1
done
echo "azurite did not answer within 30 s" >&2; cat "$STATE/azurite.log" >&2; exit 1
