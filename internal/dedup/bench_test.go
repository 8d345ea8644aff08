package dedup

import (
	"bytes"
	"testing"

	"github.com/zeebo/xxh3"

	"stele/internal/eventgen"
)

// benchLines returns n generated event lines, without their newlines.
func benchLines(n int) [][]byte {
	g := eventgen.New(eventgen.Config{Seed: 1})
	var buf []byte
	for range n {
		buf = g.Append(buf)
	}
	return bytes.Split(bytes.TrimSuffix(buf, []byte("\n")), []byte("\n"))
}

// BenchmarkKeyOf compares KeyOf with plain xxh3-128 over the same lines in
// one run; the ratio is reported by the KeyOf sub-benchmark as x-xxh3.
func BenchmarkKeyOf(b *testing.B) {
	lines := benchLines(4096)
	total := 0
	for _, l := range lines {
		total += len(l)
	}
	run := func(b *testing.B, f func([]byte)) float64 {
		b.SetBytes(int64(total / len(lines)))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			f(lines[i%len(lines)])
			i++
		}
		ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		b.ReportMetric(ns, "ns/event")
		b.ReportMetric(1e9/ns, "events/s")
		return ns
	}
	var sink Key
	var base float64
	b.Run("xxh3", func(b *testing.B) {
		base = run(b, func(l []byte) { sink = xxh3.Hash128(l).Bytes() })
	})
	b.Run("KeyOf", func(b *testing.B) {
		ns := run(b, func(l []byte) { sink = KeyOf("web-1", l) })
		if base > 0 {
			b.ReportMetric(ns/base, "x-xxh3")
		}
	})
	_ = sink
}
