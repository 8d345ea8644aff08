package ingest

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"stele/internal/wal"
)

var dumpDir = flag.String("ingest.dump", "", "print the log records of the store in `dir` (go test -run TestDump -ingest.dump DIR)")

// dumpLog writes one line per record of the log in dir, then its lines.
func dumpLog(w io.Writer, dir string) (wal.ReplayStats, error) {
	return wal.Replay(filepath.Join(dir, "wal"), func(p []byte) error {
		b, err := decodeBatch(p)
		if err != nil {
			fmt.Fprintf(w, "undecodable record of %d bytes: %v\n", len(p), err)
			return nil
		}
		fmt.Fprintf(w, "batch source=%s chunk=%s end=%d received=%d complete=%v lines=%d\n",
			b.source, b.chunk, b.end, b.received, b.complete, b.count)
		for _, l := range bytes.SplitAfter(b.lines, []byte{'\n'}) {
			if len(l) > 0 {
				fmt.Fprintf(w, "\t%q\n", l)
			}
		}
		return nil
	})
}

func TestDump(t *testing.T) {
	dir := *dumpDir
	if dir == "" {
		dir = t.TempDir()
		s, _ := open(t, Options{Dir: dir})
		run := evs(0, 2)
		if _, err := s.Accept("web1", "1C", 0, int64(len(run)), run, true); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	var out strings.Builder
	if _, err := dumpLog(&out, dir); err != nil {
		t.Fatal(err)
	}
	if *dumpDir != "" {
		fmt.Print(out.String())
		return
	}
	want := "batch source=web1 chunk=1C end=51 received="
	if !strings.HasPrefix(out.String(), want) || !strings.Contains(out.String(), "complete=true lines=2\n\t\"{\\\"time_ns\\\":0,\\\"n\\\":0}\\n\"\n") {
		t.Fatalf("dump:\n%s", out.String())
	}
}
