package jsonscan

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"stele/internal/eventgen"
)

// benchLines builds a fixed set of realistic event lines (150-400 bytes):
// RPC results, HTTP requests and logger output with messages. The seed is
// fixed so every run measures the same bytes.
func benchLines() [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	methods := []string{"/payments.v1.Ledger/Transfer", "/users.v2.Directory/Lookup", "/search.v1.Index/Query", "/auth.v1.Tokens/Refresh"}
	errs := []string{"", "", "", "deadline exceeded", "unavailable: connection reset by peer"}
	paths := []string{"/api/v1/orders/%d?expand=items", "/healthz", "/api/v1/users/%d/sessions", "/static/app.%d.js"}
	agents := []string{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36", "curl/8.5.0", "Go-http-client/2.0"}
	msgs := []string{"request completed", "cache miss for key user:profile, fetching from primary", "retrying upstream call after transient failure", "flushed 128 rows to the write-ahead log in 3 segments", "Zugriff verweigert für Benutzer – Sitzung abgelaufen"}
	ns := int64(1714559696789012345)

	var lines [][]byte
	for i := 0; i < 96; i++ {
		ns += rng.Int64N(5e8)
		var line string
		switch i % 4 {
		case 0:
			line = fmt.Sprintf(`{"time_ns":%d,"rpc_method":%q,"duration_ms":%d,"server_error":%q,"pii_uid":"u-%06x","peer":"10.0.%d.%d:%d","request_bytes":%d,"response_bytes":%d,"trace_id":"%016x%016x"}`,
				ns, methods[rng.IntN(len(methods))], rng.IntN(2000), errs[rng.IntN(len(errs))], rng.IntN(1<<24),
				rng.IntN(256), rng.IntN(256), 1024+rng.IntN(60000), rng.IntN(1<<16), rng.IntN(1<<20), rng.Uint64(), rng.Uint64())
		case 1:
			line = fmt.Sprintf(`{"time_ns":%d,"http_method":"GET","path":%q,"status":%d,"duration_ms":%d,"user_agent":%q,"remote_addr":"203.0.113.%d","bytes_out":%d,"pii_uid":"u-%06x"}`,
				ns, fmt.Sprintf(paths[rng.IntN(len(paths))], rng.IntN(1e6)), []int{200, 200, 201, 304, 404, 500}[rng.IntN(6)],
				rng.IntN(900), agents[rng.IntN(len(agents))], rng.IntN(256), rng.IntN(1<<20), rng.IntN(1<<24))
		case 2:
			line = fmt.Sprintf(`{"time":"2024-05-01T12:%02d:%02d.%03d+02:00","level":"INFO","msg":%q,"component":"ingest","attempt":%d,"shard":%d,"details":{"queue":"events-%d","lag_ms":%d,"tags":["a","b"]}}`,
				rng.IntN(60), rng.IntN(60), rng.IntN(1000), msgs[rng.IntN(len(msgs))], rng.IntN(5), rng.IntN(64), rng.IntN(8), rng.IntN(10000))
		case 3:
			line = fmt.Sprintf(`{"level":"warn","ts":%d.%07d,"caller":"server/handler.go:%d","msg":%q,"error":"context canceled","stacktrace":"main.serve\n\t/src/server/handler.go:%d"}`,
				ns/1e9, rng.IntN(1e7), rng.IntN(500), msgs[rng.IntN(len(msgs))], rng.IntN(500))
		}
		lines = append(lines, []byte(line))
	}
	return lines
}

func benchTotal(lines [][]byte) int64 {
	var n int64
	for _, l := range lines {
		n += int64(len(l))
	}
	return n
}

func TestBenchLinesAreEvents(t *testing.T) {
	for _, line := range benchLines() {
		if n := len(line); n < 150 || n > 400 {
			t.Errorf("bench line of %d bytes, want 150-400: %s", n, line)
		}
		if r := Scan(line); !r.Object || !r.UTF8 || !r.HasTime {
			t.Errorf("bench line not a timed event (%+v): %s", r, line)
		}
		checkReference(t, line)
	}
}

func BenchmarkScan(b *testing.B) {
	lines := benchLines()
	b.SetBytes(benchTotal(lines))
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			if !Scan(l).Object {
				b.Fatal("line rejected")
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines)), "ns/event")
	b.ReportMetric(float64(benchTotal(lines))/float64(len(lines)), "bytes/event")
}

// BenchmarkJSONValid is the yardstick: encoding/json only validating the
// same lines, without finding a timestamp.
func BenchmarkJSONValid(b *testing.B) {
	lines := benchLines()
	b.SetBytes(benchTotal(lines))
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			if !json.Valid(l) {
				b.Fatal("line rejected")
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines)), "ns/event")
	b.ReportMetric(float64(benchTotal(lines))/float64(len(lines)), "bytes/event")
}

// generatedLines are 10,000 lines of the project's event generator, the
// events every other benchmark uses (1% of them malformed).
func generatedLines() [][]byte {
	g := eventgen.New(eventgen.Config{Seed: 1, Malformed: 0.01})
	var lines [][]byte
	for range 10_000 {
		l := g.Append(nil)
		lines = append(lines, l[:len(l)-1])
	}
	return lines
}

// BenchmarkScanGenerated is the measure: Scan over generated
// events, in MB/s, with json.Valid over the same lines for a ratio.
func BenchmarkScanGenerated(b *testing.B) {
	lines := generatedLines()
	for _, bc := range []struct {
		name string
		fn   func([]byte) bool
	}{
		{"Scan", func(l []byte) bool { return Scan(l).Object }},
		{"JSONValid", json.Valid},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(benchTotal(lines))
			for i := 0; i < b.N; i++ {
				for _, l := range lines {
					bc.fn(l)
				}
			}
		})
	}
}
