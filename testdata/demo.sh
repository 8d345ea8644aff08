#!/usr/bin/env bash
# make demo: runs the supervisor around the event generator and shows the
# chunk log being written. Ctrl-C stops it cleanly (the supervisor stops the
# generator, closes the latest chunk and exits). DEMO_SECONDS=N stops it by
# itself after N seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

go build -trimpath -o bin/eventgen ./internal/eventgen/cmd/eventgen
work=$(mktemp -d "${TMPDIR:-/tmp}/stele-demo.XXXXXX")
log="$work/log"
echo "demo: chunk log in $log"

bin/supervisor -dir "$log" -chunk-bytes 64KB -chunk-age 20s -stats-interval 10s \
  -restart always -- bin/eventgen -rate 500 -malformed 0.02 -stderr 0.01 &
sup=$!

stop() {
  trap - INT TERM
  echo
  echo "demo: stopping the supervisor (SIGTERM)"
  kill -TERM "$sup" 2>/dev/null || true
  wait "$sup" || true
  echo "demo: the log after a clean stop: every chunk closed, each with its .sum"
  ls -l "$log"
  echo "demo: the supervisor's own events:"
  for id in $(ls "$log" | grep -E '^[1-9C-Z]{12}$'); do cat "$log/$id"; done | grep '"_event"' | tail -n 8 | cut -c1-200
  exit 0
}
trap stop INT TERM

deadline=$(( $(date +%s) + ${DEMO_SECONDS:-1000000000} ))
while [ "$(date +%s)" -lt "$deadline" ]; do
  sleep 2
  latest=$(ls "$log" | grep -E '^[1-9C-Z]{12}$' | tail -n 1)
  chunks=$(ls "$log" | grep -cE '^[1-9C-Z]{12}$')
  echo "--- $chunks chunks; latest $latest is $(wc -c < "$log/$latest") bytes; its last 3 lines:"
  tail -n 3 "$log/$latest" | cut -c1-160
done
stop
