package jsonscan

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedDir holds realistic event lines shared by the repository's fuzzers.
const seedDir = "../../testdata/jsonscan"

// FuzzScan checks Scan against encoding/json, utf8.Valid, math/big and time
// (see reference) on every input: validity, UTF-8, and every timestamp field.
func FuzzScan(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(seedDir, "*"))
	if err != nil {
		f.Fatal(err)
	}
	if len(files) == 0 {
		f.Fatalf("no seed files in %s", seedDir)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			f.Add(line)
		}
	}
	for _, line := range benchLines()[:8] {
		f.Add(line)
	}
	f.Add([]byte(strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)))
	f.Add([]byte(`{"time":1e-999999999999999999999,"ts":9223372036.854775807}`))
	f.Add([]byte("{\"msg\":\"\xff\",\"time_ns\":3}"))

	f.Fuzz(func(t *testing.T, line []byte) {
		checkReference(t, line)
	})
}
