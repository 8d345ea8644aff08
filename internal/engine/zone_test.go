package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"stele/internal/query"
	"stele/internal/table"
)

// TestZoneMaps: blocks are skipped by their zone maps exactly when no
// record in them can match, and never where the condition sees tokens.
func TestZoneMaps(t *testing.T) {
	tb, err := table.Open(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// Three segments: status 200-299 and method "a"; status 500-599 and
	// method "b"; and wrapped lines mentioning pii_.
	var segs []*table.Segment
	for s, spec := range []struct {
		status int
		method string
	}{{200, "a"}, {500, "b"}} {
		w, err := tb.NewWriter(0)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 100 {
			line := fmt.Sprintf(`{"time_ns":%d,"status":%d,"method":%q}`, s*1000+i+1, spec.status+i, spec.method)
			if err := w.Add("s1", []byte(line), int64(s*1000+i+1)); err != nil {
				t.Fatal(err)
			}
		}
		seg, err := w.Close()
		if err != nil {
			t.Fatal(err)
		}
		segs = append(segs, seg)
	}
	w, err := tb.NewWriter(0)
	if err != nil {
		t.Fatal(err)
	}
	wrapped := `pii_uid=carol tried again`
	for i := range 3 {
		if err := w.Add("s1", []byte(wrapped), int64(5000+i)); err != nil {
			t.Fatal(err)
		}
	}
	seg, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	segs = append(segs, seg)
	src := Source{Segments: segs}
	tok := NewTokenizer([]byte("0123456789abcdef0123456789abcdef"))

	for _, tc := range []struct {
		q       string
		tok     *Tokenizer
		count   string
		scanned int64 // rows in blocks read
	}{
		{"where status >= 500\nstats count", nil, "100", 100},
		{"where status < 200\nstats count", nil, "0", 0},
		{"where status = 250 or status = 550\nstats count", nil, "2", 200},
		{"where method = \"b\"\nstats count", nil, "100", 100},
		{"where method in (\"c\", \"a\")\nstats count", nil, "100", 100},
		{"where method = \"b\" and status < 300\nstats count", nil, "0", 0},
		{"where method != \"b\"\nstats count", nil, "100", 203},
		{"where _line = \"" + tok.Token(Val{Kind: Str, S: wrapped}) + "\"\nstats count", tok, "3", 203},
	} {
		q, err := query.Parse(tc.q)
		if err != nil {
			t.Fatal(err)
		}
		var out textOut
		st, err := Run(context.Background(), q, src, Options{Now: time.Unix(0, 10000), Tokens: tc.tok}, &out)
		if err != nil {
			t.Fatalf("%q: %v", tc.q, err)
		}
		if got, want := out.b.String(), "count\n"+tc.count+"\n"; got != want {
			t.Errorf("%q: %q, want %q", tc.q, got, want)
		}
		if st.Scanned != tc.scanned {
			t.Errorf("%q: %d rows read, want %d", tc.q, st.Scanned, tc.scanned)
		}
	}
}
