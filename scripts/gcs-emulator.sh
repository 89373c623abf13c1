#!/usr/bin/env bash
# gcs-emulator.sh - the Cloud Storage emulator of npm firebase-tools (pinned and locked in scripts/gcs/, installed
# there on first start), run without Java by scripts/gcs/launch.cjs, on 127.0.0.1. JSON API; no auth check.
#
#   bash scripts/gcs-emulator.sh start    # install if needed, start in the background, wait until it answers
#   bash scripts/gcs-emulator.sh stop     # stop the instance this script started (PID file)
#   bash scripts/gcs-emulator.sh status   # exit 0 if the endpoint answers
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export FIREBASE_TOOLS_DIR=$HERE/gcs
export GCS_HOST=127.0.0.1
export GCS_PORT=${GCS_PORT:-47482}
export GCS_PROJECT=${GCS_PROJECT:-demo-test}
export GCS_STATE=${GCS_STATE:-/tmp/effect-obstore/gcs}
PIDFILE=$GCS_STATE/gcs.pid
mkdir -p "$GCS_STATE"
up() { [[ $(curl -s -o /dev/null -w '%{http_code}' -m 1 "http://$GCS_HOST:$GCS_PORT/b" || true) == 200 ]]; }

case "${1:-start}" in
  status) up; exit $? ;;
  stop)
    if [[ -f $PIDFILE ]]; then
      pid=$(cat "$PIDFILE"); kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$PIDFILE"
    fi
    exit 0 ;;
  start) ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac

# One start at a time (test runs and benchmarks started together).
exec 9>"$PIDFILE.lock"; flock -w 600 9 || { echo "another start/stop of this server held the lock for 10 minutes" >&2; exit 1; }
up && { echo "gcs emulator already answers on port $GCS_PORT"; exit 0; }
if [[ ! -f $FIREBASE_TOOLS_DIR/node_modules/firebase-tools/package.json ]]; then
  # --omit=optional skips re2, whose prebuilt binary cannot be downloaded here (it would compile for minutes).
  (cd "$FIREBASE_TOOLS_DIR" && npm ci --omit=optional --no-audit --no-fund --loglevel=error >/dev/null)
fi
NO_UPDATE_NOTIFIER=1 node "$HERE/gcs/launch.cjs" >"$GCS_STATE/gcs.log" 2>&1 9>&- &
echo $! >"$PIDFILE"
for _ in $(seq 1 300); do
  up && { echo "gcs emulator ready on http://$GCS_HOST:$GCS_PORT"; exit 0; }
  kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { echo "gcs emulator died:" >&2; cat "$GCS_STATE/gcs.log" >&2; exit 1; }
  sleep 0.1
done
echo "gcs emulator did not answer within 30 s" >&2; cat "$GCS_STATE/gcs.log" >&2; exit 1
