package table

import (
	"bytes"
	"compress/gzip"
	"testing"
	"time"

	"stele/internal/eventgen"
)

// BenchmarkBytesPerEventMerged stores generated events as the store does
// (flushes of a memtable's worth, then merges) and reports the bytes per
// event on disk after merging, with gzip -9 of the same JSON lines in the
// same run as the baseline (x-gzip9-ratio = ours / gzip's).
//
//	go test -run '^$' -bench BytesPerEventMerged -benchtime 1x -count 3 ./internal/table
func BenchmarkBytesPerEventMerged(b *testing.B) {
	const events = 1_000_000
	const perFlush = 200_000 // about a 64 MB memtable of these events
	g := eventgen.New(eventgen.Config{Seed: 7})
	lines := make([][]byte, events)
	var all []byte
	for i := range lines {
		start := len(all)
		all = g.Append(all)
		lines[i] = all[start : len(all)-1 : len(all)-1]
	}
	for b.Loop() {
		tb, err := Open(b.TempDir(), 24*time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < events; i += perFlush {
			w, err := tb.NewWriter(0)
			if err != nil {
				b.Fatal(err)
			}
			w.EncodeFast() // as the store flushes
			for _, l := range lines[i:min(i+perFlush, events)] {
				if err := w.Add("web-1", l, 0); err != nil {
					b.Fatal(err)
				}
			}
			s, err := w.Close()
			if err != nil {
				b.Fatal(err)
			}
			if err := tb.Commit(Change{Add: []*Segment{s}}); err != nil {
				b.Fatal(err)
			}
		}
		for {
			_, ok, err := tb.Merge(time.Now())
			if err != nil {
				b.Fatal(err)
			}
			if !ok {
				break
			}
		}
		tot := tb.Totals()
		if tot.Records != events || tot.Segments != 1 {
			b.Fatalf("after merging: %+v", tot)
		}
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(all)
		zw.Close()
		ours := float64(tot.Bytes) / events
		b.ReportMetric(ours, "bytes/event")
		b.ReportMetric(float64(len(all))/events, "json-bytes/event")
		b.ReportMetric(float64(gz.Len())/events, "gzip9-bytes/event")
		b.ReportMetric(ours/(float64(gz.Len())/events), "x-gzip9-ratio")
	}
}
