package dremel

import (
	"testing"

	"stele/internal/eventgen"
)

// BenchmarkShred infers the schema of a block of generated events and
// shreds them (records/s).
func BenchmarkShred(b *testing.B) {
	g := eventgen.New(eventgen.Config{Seed: 1})
	var raw []byte
	var lines []string
	for range 65536 {
		start := len(raw)
		raw = g.Append(raw)
		lines = append(lines, string(raw[start:len(raw)-1]))
	}
	var p Parser
	recs := make([]Value, len(lines))
	for i, l := range lines {
		recs[i], _ = p.ParseEvent(l)
	}
	b.ResetTimer()
	for range b.N {
		Shred("", recs)
	}
	b.ReportMetric(float64(len(recs)*b.N)/b.Elapsed().Seconds(), "records/s")
}
