#!/usr/bin/env bash
# make demo: runs the supervisor around the event generator, serving its
# chunk log over mutual TLS with freshly generated certificates, and shows
# the log being written and read back with curl. Ctrl-C stops it cleanly
# (the supervisor stops the generator, closes the latest chunk and exits).
# DEMO_SECONDS=N stops it by itself after N seconds; DEMO_PORT sets the port.
set -euo pipefail
cd "$(dirname "$0")/.."

go build -trimpath -o bin/eventgen ./internal/eventgen/cmd/eventgen
work=$(mktemp -d "${TMPDIR:-/tmp}/stele-demo.XXXXXX")
log="$work/log"
echo "demo: chunk log in $log"

port=${DEMO_PORT:-7443}
certs="$work/certs"
mkdir -p "$certs"
echo "demo: certificates in $certs"
bin/supervisor gencert -name demo-host -out "$certs/host" >/dev/null
bin/supervisor gencert -name demo-reader -out "$certs/reader" >/dev/null
bin/supervisor fingerprint "$certs/reader.crt" > "$certs/allow"

bin/supervisor -dir "$log" -chunk-bytes 64KB -chunk-age 20s -stats-interval 10s \
  -listen "127.0.0.1:$port" -tls-cert "$certs/host.crt" -tls-key "$certs/host.key" -allow "$certs/allow" \
  -restart always -- bin/eventgen -rate 500 -malformed 0.02 -stderr 0.01 &
sup=$!
C=(--silent --show-error --cacert "$certs/host.crt" --cert "$certs/reader.crt" --key "$certs/reader.key")
url="https://localhost:$port/chunk/"
echo "demo: read it yourself:  curl ${C[*]} $url"

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
  echo "--- $chunks chunks on disk; latest $latest is $(wc -c < "$log/$latest") bytes"
  listed=$(curl "${C[@]}" "$url" 2>/dev/null | wc -l || true)
  echo "    over HTTPS: GET /chunk/ lists $listed chunks; the newest closed one's last 2 lines:"
  closed=$(curl "${C[@]}" "$url" 2>/dev/null | tail -n 2 | head -n 1 || true)
  [ -n "$closed" ] && curl "${C[@]}" "$url$closed" | tail -n 2 | cut -c1-160
done
stop
