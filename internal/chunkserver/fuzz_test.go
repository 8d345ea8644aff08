package chunkserver

import (
	"strconv"
	"testing"
)

// FuzzParseRange checks that only "bytes=N-" is taken as a range, and
// that an accepted N is the digits of the header.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"", "bytes=0-", "bytes=123-", "bytes=1-2", "bytes=-5", "bytes=0-,1-", "bytes=99999999999999999999-", "bytes=+1-", "lines=1-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		start, ranged, ok := parseRange(h)
		if !ranged {
			if ok || start != 0 {
				t.Fatalf("%q: not a range but ok=%v start=%d", h, ok, start)
			}
			return
		}
		if len(h) < len("bytes=0-") || h[:6] != "bytes=" || h[len(h)-1] != '-' {
			t.Fatalf("%q taken as a range", h)
		}
		if ok && (start < 0 || "bytes="+strconv.FormatInt(start, 10)+"-" != h && h[6] != '0') {
			t.Fatalf("%q parsed as %d", h, start)
		}
	})
}
