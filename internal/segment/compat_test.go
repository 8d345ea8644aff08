package segment

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"stele/internal/eventgen"
)

// TestOlderSegments reads segments written by earlier versions of the
// encoders, so that adding an encoding never changes what an existing one
// means. Each file under testdata/compat holds compatEvents generated
// events (seed compatSeed), packed by `store pack` at the commit it is
// named after; one is added whenever the encoders change.
func TestOlderSegments(t *testing.T) {
	const compatEvents, compatSeed = 4096, 7
	g := eventgen.New(eventgen.Config{Seed: compatSeed})
	var want []string
	var line []byte
	for range compatEvents {
		line = g.Append(line[:0])
		want = append(want, string(bytes.TrimSuffix(line, []byte("\n"))))
	}
	files, err := filepath.Glob(filepath.Join("testdata", "compat", "*.seg"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no segments under testdata/compat: %v", err)
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := unpack(t, data, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d records, want %d", path, len(got), len(want))
		}
		for i := range got {
			if !jsonEqual(t, got[i], want[i]) {
				t.Fatalf("%s: record %d: %s, want %s", path, i, got[i], want[i])
			}
		}
	}
}
