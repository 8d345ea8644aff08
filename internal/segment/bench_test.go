package segment

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"stele/internal/eventgen"
)

// benchEvents is the number of generated events the benchmarks work on.
const benchEvents = 1_000_000

// generated holds the benchmark input, made once per process: it takes
// seconds, and every benchmark uses the same bytes.
var generated struct {
	once  sync.Once
	raw   []byte // benchEvents lines
	lines [][]byte
}

func benchInput(b *testing.B) ([]byte, [][]byte) {
	generated.once.Do(func() {
		g := eventgen.New(eventgen.Config{Seed: 1})
		raw := make([]byte, 0, 180*benchEvents)
		lines := make([][]byte, 0, benchEvents)
		for range benchEvents {
			start := len(raw)
			raw = g.Append(raw)
			lines = append(lines, raw[start:len(raw)-1])
		}
		generated.raw, generated.lines = raw, lines
	})
	return generated.raw, generated.lines
}

// packed holds a segment of the benchmark input, made once per process.
var packed struct {
	once sync.Once
	data []byte
	err  error
}

func packInput(b *testing.B, dir string, lines [][]byte, fast bool) ([]byte, error) {
	path := filepath.Join(dir, "bench.seg")
	w, err := Create(path)
	if err != nil {
		return nil, err
	}
	w.Fast = fast
	for _, l := range lines {
		if err := w.AddLine(l); err != nil {
			w.Abort()
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

func benchSegment(b *testing.B) []byte {
	_, lines := benchInput(b)
	packed.once.Do(func() {
		dir, err := os.MkdirTemp("", "stele-bench")
		if err != nil {
			packed.err = err
			return
		}
		defer os.RemoveAll(dir)
		packed.data, packed.err = packInput(b, dir, lines, false)
	})
	if packed.err != nil {
		b.Fatal(packed.err)
	}
	return packed.data
}

// BenchmarkPack packs the generated events into a segment file: events/s
// and the segment's bytes/event, next to the raw JSON's.
func BenchmarkPack(b *testing.B) {
	b.Run("best", func(b *testing.B) { benchPack(b, false) })
	b.Run("fast", func(b *testing.B) { benchPack(b, true) })
}

func benchPack(b *testing.B, fast bool) {
	raw, lines := benchInput(b)
	dir := b.TempDir()
	var size int
	b.ResetTimer()
	cpu0 := selfCPU(b)
	for range b.N {
		data, err := packInput(b, dir, lines, fast)
		if err != nil {
			b.Fatal(err)
		}
		size = len(data)
	}
	cpu := selfCPU(b) - cpu0
	b.ReportMetric(float64(len(lines))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(len(lines))*float64(b.N)/cpu.Seconds(), "events/cpu-s")
	b.ReportMetric(float64(size)/float64(len(lines)), "bytes/event")
	b.ReportMetric(float64(len(raw))/float64(len(lines)), "raw-bytes/event")
	b.ReportMetric(0, "ns/op")
}

// compressed caches the sizes external compressors reach on the raw file:
// they are deterministic and slow.
var compressed struct {
	once       sync.Once
	gzip, zstd int
	err        error
}

// BenchmarkCompressors reports, in the same run as BenchmarkPack, the
// bytes/event of gzip -9 and zstd -19 on the same generated events, and of
// our segment.
func BenchmarkCompressors(b *testing.B) {
	raw, lines := benchInput(b)
	seg := benchSegment(b)
	compressed.once.Do(func() {
		path := filepath.Join(b.TempDir(), "events.json")
		if compressed.err = os.WriteFile(path, raw, 0o644); compressed.err != nil {
			return
		}
		size := func(name string, args ...string) int {
			if compressed.err != nil {
				return 0
			}
			out, err := exec.Command(name, append(args, path)...).Output()
			if err != nil {
				compressed.err = fmt.Errorf("%s: %w", name, err)
			}
			return len(out)
		}
		compressed.gzip = size("gzip", "-9", "-c")
		compressed.zstd = size("zstd", "-19", "-c", "-q")
	})
	if compressed.err != nil {
		b.Skip(compressed.err)
	}
	for range b.N {
	}
	n := float64(len(lines))
	b.ReportMetric(float64(len(raw))/n, "raw-bytes/event")
	b.ReportMetric(float64(compressed.gzip)/n, "gzip-9-bytes/event")
	b.ReportMetric(float64(compressed.zstd)/n, "zstd-19-bytes/event")
	b.ReportMetric(float64(len(seg))/n, "segment-bytes/event")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkDecodeColumn reads and decodes one column of every block of the
// packed events, from a freshly opened segment each time (so the blocks'
// presence chunks are decoded too): values/s per column.
func BenchmarkDecodeColumn(b *testing.B) { benchDecode(b, false) }

// BenchmarkDecodeColumnWarm is BenchmarkDecodeColumn with one Reader for
// all runs, as a long-lived store keeps it: the blocks' presence chunks
// are decoded once and kept (presenceCache).
func BenchmarkDecodeColumnWarm(b *testing.B) { benchDecode(b, true) }

func benchDecode(b *testing.B, warm bool) {
	seg := benchSegment(b)
	r, err := Open(bytes.NewReader(seg), int64(len(seg)))
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"time_ns", "duration_ms", "kind", "request_id", "pii_uid", "message", "bytes", "session_id"} {
		leaves := r.Project([][]string{{name}})
		if len(leaves) == 0 {
			b.Fatalf("no column %s", name)
		}
		leaf := leaves[0]
		b.Run(name, func(b *testing.B) {
			values := 0
			for range b.N {
				r := r
				if !warm {
					if r, err = Open(bytes.NewReader(seg), int64(len(seg))); err != nil {
						b.Fatal(err)
					}
				}
				for i, blk := range r.Blocks {
					if blk.Chunk(leaf) == nil {
						continue
					}
					col, err := r.ReadColumn(i, leaf)
					if err != nil {
						b.Fatal(err)
					}
					values += col.Len()
				}
			}
			b.ReportMetric(float64(values)/b.Elapsed().Seconds(), "values/s")
		})
	}
}

// selfCPU returns the CPU time the process has used: on a shared machine
// it varies less than the time on the clock.
func selfCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
