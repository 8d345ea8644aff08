package capture

import (
	"bytes"
	"testing"
	"time"

	"stele/internal/eventgen"
)

// BenchmarkReader measures the line rules over generated events (1%
// malformed), from memory to a Buffer that a second goroutine drains.
func BenchmarkReader(b *testing.B) {
	g := eventgen.New(eventgen.Config{Seed: 1, Malformed: 0.01})
	var data []byte
	const n = 100_000
	for range n {
		data = g.Append(data)
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf := NewBuffer(DefaultBufferBytes)
		done := make(chan struct{})
		go func() {
			for {
				if _, _, ok := buf.Take(); !ok {
					close(done)
					return
				}
			}
		}()
		r := NewReader("stdout", buf, time.Now, &Counts{}, nil)
		if err := r.Run(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		buf.Close()
		<-done
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}
