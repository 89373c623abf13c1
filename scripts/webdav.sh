#!/usr/bin/env bash
# webdav.sh - a WebDAV server for the integration tests: `rclone serve webdav` (Debian rclone, installed here when
# missing) serving a scratch directory on 127.0.0.1 with MD5 ETags.
#
#   bash scripts/webdav.sh start    # install if needed, start in the background, wait until it answers
#   bash scripts/webdav.sh stop     # stop the instance this script started (PID file)
#   bash scripts/webdav.sh status   # exit 0 if the endpoint answers PROPFIND
set -euo pipefail
PORT=${WEBDAV_PORT:-47481}
STATE=${WEBDAV_STATE:-/tmp/effect-obstore/webdav}
SERVED=$STATE/root
PIDFILE=$STATE/rclone.pid
mkdir -p "$STATE"
up() { [[ $(curl -s -o /dev/null -w '%{http_code}' -m 1 -X PROPFIND -H 'Depth: 0' "http://127.0.0.1:$PORT/" || true) == 207 ]]; }

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
up && { echo "webdav already answers on port $PORT"; exit 0; }
if ! command -v rclone >/dev/null; then
  SUDO=""; [[ $(id -u) == 0 ]] || SUDO=sudo
  $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends rclone >/dev/null
fi
rm -rf "$SERVED"; mkdir -p "$SERVED"
# --etag-hash MD5: the ETag is the content's MD5 (rclone's default changes only with mtime/size).
# --disable-dir-list: GET on a collection is 405, not an HTML index. --dir-cache-time 0s: listings never go stale.
XDG_CONFIG_HOME="$STATE" XDG_CACHE_HOME="$STATE/cache" rclone serve webdav "$SERVED" --addr "127.0.0.1:$PORT" \
  --etag-hash MD5 --dir-cache-time 0s --disable-dir-list --config "$STATE/rclone.conf" >"$STATE/rclone.log" 2>&1 9>&- &
echo $! >"$PIDFILE"
for _ in $(seq 1 200); do
  up && { echo "webdav ready on http://127.0.0.1:$PORT/ (serving $SERVED)"; exit 0; }
  kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { echo "rclone died:" >&2; cat "$STATE/rclone.log" >&2; exit 1; }
  sleep 0.05
done
echo "webdav did not answer within 10 s" >&2; cat "$STATE/rclone.log" >&2; exit 1
