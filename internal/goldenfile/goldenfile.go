// Package goldenfile compares test output with files under a package's
// testdata/ directory; `go test -update` rewrites them instead. For tests
// only.
package goldenfile

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// maxShown bounds how much of a mismatch is printed: golden files can be
// binary or large.
const maxShown = 4 << 10

// Check compares got with testdata/name, or writes it there with -update.
func Check(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\ngot:\n%s\nwant:\n%s", path, clip(got), clip(want))
	}
}

func clip(b []byte) []byte {
	if len(b) > maxShown {
		return append(b[:maxShown:maxShown], "..."...)
	}
	return b
}
