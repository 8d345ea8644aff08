package segment_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"stele/internal/dremel"
	"stele/internal/segment"
)

// A query engine opens a segment, skips blocks by their zone maps, reads
// single columns, and assembles projected records.
func Example() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "events.seg")

	w, _ := segment.Create(path)
	w.BlockRows = 2
	w.AddLines(strings.NewReader(`{"time_ns":100,"level":"info","msg":"a"}
{"time_ns":200,"level":"error","msg":"b","http":{"status":500}}
{"time_ns":300,"level":"info","msg":"c"}
`))
	if err := w.Close(); err != nil {
		panic(err)
	}

	f, err := segment.OpenFile(path)
	if err != nil {
		panic(err)
	}
	defer f.Close()

	level := f.Project([][]string{{"level"}})[0] // leaf index of column "level"
	msg := f.Project([][]string{{"msg"}})[0]
	for b, blk := range f.Blocks {
		// where time_ns >= 250 and level = "info"
		if blk.MaxTime < 250 || !blk.MayContain(level, "info") {
			fmt.Printf("block %d: skipped\n", b)
			continue
		}
		col, err := f.ReadColumn(b, level) // one chunk, one ReadAt
		if err != nil {
			panic(err)
		}
		fmt.Printf("block %d: level values %q\n", b, col.Strs)
		f.Assemble(b, []int{level, msg}, func(v dremel.Value) error {
			fmt.Printf("block %d: %s\n", b, dremel.AppendJSON(nil, v))
			return nil
		})
	}
	// Output:
	// block 0: skipped
	// block 1: level values ["info"]
	// block 1: {"level":"info","msg":"c"}
}
