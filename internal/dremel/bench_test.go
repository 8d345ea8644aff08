package dremel

import (
	"testing"

	"stele/internal/eventgen"
)

// BenchmarkShred infers the schema of a block of generated events and
// shreds them (records/s).
func BenchmarkShred(b *testing.B) {
	recs := benchRecords()
	b.ResetTimer()
	for range b.N {
		Shred("", recs)
	}
	b.ReportMetric(float64(len(recs)*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkAssemble rebuilds a block of generated events from their
// columns (records/s; allocations per block with -benchmem).
func BenchmarkAssemble(b *testing.B) {
	recs := benchRecords()
	schema, cols, err := Shred("", recs)
	if err != nil {
		b.Fatal(err)
	}
	ptrs := make([]*Column, len(cols))
	for i := range cols {
		ptrs[i] = &cols[i]
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		n := 0
		if err := Assemble(schema.Leaves, ptrs, len(recs), func(Value) error { n++; return nil }); err != nil || n != len(recs) {
			b.Fatal(n, err)
		}
	}
	b.ReportMetric(float64(len(recs)*b.N)/b.Elapsed().Seconds(), "records/s")
}

// benchRecords parses 64Ki generated events.
func benchRecords() []Value {
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
	return recs
}
