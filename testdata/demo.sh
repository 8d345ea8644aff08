#!/usr/bin/env bash
# make demo: runs the whole pipeline locally. Two supervisors, each around
# the event generator, serve their chunk logs over mutual TLS; a store pulls
# from both, keeps every event once and answers GET /status; all with
# freshly generated certificates, read with curl; once events are in, it
# prints example queries with their answers. Ctrl-C stops it cleanly:
# the store writes what it holds to segments, the supervisors stop their
# generators, and the demo exports what the store kept.
# DEMO_SECONDS=N stops it by itself after N seconds; DEMO_PORT sets the
# store's port (the supervisors take free ports).
set -euo pipefail
cd "$(dirname "$0")/.."

go build -trimpath -o bin/eventgen ./internal/eventgen/cmd/eventgen
work=$(mktemp -d "${TMPDIR:-/tmp}/stele-demo.XXXXXX")
echo "demo: everything in $work"
port=${DEMO_PORT:-7444}
certs="$work/certs"
mkdir -p "$certs"
for name in web1 web2 store reader; do
  bin/store gencert -name "demo-$name" -out "$certs/$name" >/dev/null
done
# Supervisors admit the store (and the reader, to look at chunks); the store admits the reader.
{ bin/store fingerprint "$certs/store.crt"; bin/store fingerprint "$certs/reader.crt"; } > "$certs/supervisor-allow"
bin/store fingerprint "$certs/reader.crt" > "$certs/store-allow"

pids=()
for name in web1 web2; do
  bin/supervisor -dir "$work/$name" -chunk-bytes 64KB -chunk-age 20s -stats-interval 10s \
    -listen 127.0.0.1:0 -tls-cert "$certs/$name.crt" -tls-key "$certs/$name.key" -allow "$certs/supervisor-allow" \
    -restart always -- bin/eventgen -rate 500 -seed "${#pids[@]}" -malformed 0.02 -stderr 0.01 2> "$work/$name.stderr" &
  pids+=($!)
done
: > "$work/sources"
for name in web1 web2; do
  for _ in $(seq 100); do grep -q 'serving https://' "$work/$name.stderr" && break; sleep 0.1; done
  addr=$(sed -n 's|.*serving https://\([^/]*\)/.*|\1|p' "$work/$name.stderr" | head -n 1)
  echo "$name https://$addr $(bin/store fingerprint "$certs/$name.crt")" >> "$work/sources"
done
echo "demo: sources file:"; sed 's/^/  /' "$work/sources"

bin/store -dir "$work/store" -sources "$work/sources" -listen "127.0.0.1:$port" \
  -tls-cert "$certs/store.crt" -tls-key "$certs/store.key" -allow "$certs/store-allow" 2> "$work/store.stderr" &
store=$!
C=(--silent --show-error --cacert "$certs/store.crt" --cert "$certs/reader.crt" --key "$certs/reader.key")
status="https://localhost:$port/status"
echo "demo: look yourself:  curl ${C[*]} $status"

stop() {
  trap - INT TERM
  echo
  echo "demo: stopping the store (SIGTERM): it writes what it holds to segments"
  kill -TERM "$store" 2>/dev/null || true
  wait "$store" || true
  echo "demo: stopping the supervisors (SIGTERM)"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" || true
  echo "demo: the store's directory:"
  ls -l "$work/store" "$work/store/segments" | sed 's/^/  /'
  bin/store export -dir "$work/store" > "$work/export.json"
  echo "demo: store export: $(wc -l < "$work/export.json") events stored, by source:"
  for src in web1 web2 store; do
    echo "  $src: $(grep -c "\"_source\":\"$src\"" "$work/export.json" || true)"
  done
  echo "demo: the store's last own events:"
  grep '"_source":"store"' "$work/export.json" | tail -n 5 | cut -c1-200 | sed 's/^/  /'
  exit 0
}
trap stop INT TERM

Q=(--silent --show-error --cacert "$certs/store.crt" --cert "$certs/reader.crt" --key "$certs/reader.key" --data-binary)
qurl="https://localhost:$port/query"
examples() {
  echo "demo: the store answers queries (the reader has no pii flag: pii_* values show as tokens):"
  for q in $'stats count by kind\nsort count desc' \
           $'where server_error != ""\nstats count, p99(duration_ms) by rpc_method\nsort count desc\nlimit 5' \
           $'where kind = "http" and status >= 500\nfields time_ns, path, status, pii_client_ip\nlimit 3'; do
    echo
    echo "  curl ${Q[*]} '$q' '$qurl?format=table'"
    curl "${Q[@]}" "$q" "$qurl?format=table" | sed 's/^/    /'
  done
  echo
  echo "  follow new errors live:  curl -N ${Q[*]} \$'where status >= 500\\nfollow' $qurl"
  echo "  a chart:                 curl ${Q[*]} 'stats count by kind every 10s' '$qurl?format=svg' > chart.svg"
  echo
}

deadline=$(( $(date +%s) + ${DEMO_SECONDS:-1000000000} ))
shown=0
while [ "$(date +%s)" -lt "$deadline" ]; do
  sleep 2
  body=$(curl "${C[@]}" "$status" 2>/dev/null || true)
  [ -z "$body" ] && { echo "--- store not answering yet"; continue; }
  events=$(printf '%s' "$body" | sed -n 's/^    "events": \([0-9]*\),/\1/p')
  segs=$(printf '%s' "$body" | sed -n 's/^    "segments": \([0-9]*\),/\1/p')
  states=$(printf '%s' "$body" | sed -n 's/^      "\(name\|state\)": "\(.*\)",/\2/p' | paste -sd' ' -)
  echo "--- store /status: $events events stored ($segs segments); sources: $states"
  if [ "$shown" = 0 ] && [ "${events:-0}" -gt 500 ]; then
    examples
    shown=1
  fi
done
stop
