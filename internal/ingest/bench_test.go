package ingest

import (
	"fmt"
	"sync"
	"testing"

	"stele/internal/eventgen"
)

// genRuns returns n runs of 1000 generated events each.
func genRuns(n int) [][]byte {
	g := eventgen.New(eventgen.Config{Seed: 1})
	runs := make([][]byte, n)
	for i := range runs {
		var b []byte
		for range 1000 {
			b = g.Append(b)
		}
		runs[i] = b
	}
	return runs
}

// BenchmarkAccept accepts runs of 1000 new events, one source at a time
// (serial) and from 4 sources at once (parallel, sharing group commits).
func BenchmarkAccept(b *testing.B) {
	for _, sources := range []int{1, 4} {
		b.Run(fmt.Sprintf("sources=%d", sources), func(b *testing.B) {
			runs := genRuns(b.N)
			s, _ := open(b, Options{Dir: b.TempDir(), DedupBudget: 1 << 24, MemoryBytes: 1 << 40})
			defer s.Close()
			var bytes int64
			for _, r := range runs {
				bytes += int64(len(r))
			}
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := range sources {
				wg.Add(1)
				go func() {
					defer wg.Done()
					src := fmt.Sprintf("src%d", w)
					var off int64
					for i := w; i < len(runs); i += sources {
						r := runs[i]
						if _, err := s.Accept(src, "1", off, off+int64(len(r)), r, false); err != nil {
							b.Error(err)
							return
						}
						off += int64(len(r))
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(bytes)/float64(b.N*1000), "bytes/event")
			b.ReportMetric(0, "ns/op")
		})
	}
}
