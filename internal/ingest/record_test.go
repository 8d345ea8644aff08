package ingest

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestBatchRoundTrip(t *testing.T) {
	for _, b := range []batch{
		{source: "web1", chunk: "1", end: 0, received: 1},
		{source: "a", chunk: "ZZZZZZZZZZZZZZZZ", end: 1 << 40, received: -5, complete: true},
		{source: strings.Repeat("x", 64), chunk: "19C", end: 9, count: 2, lines: []byte("{}\nabc\n")},
	} {
		p := appendBatch(nil, &b)
		if len(p) != batchFixedSize+len(b.source)+len(b.chunk)+len(b.lines) {
			t.Fatalf("%+v: %d bytes, not as the package documentation draws it", b, len(p))
		}
		got, err := decodeBatch(p)
		if err != nil {
			t.Fatalf("%+v: %v", b, err)
		}
		if got.source != b.source || got.chunk != b.chunk || got.end != b.end || got.received != b.received ||
			got.complete != b.complete || got.count != b.count || !bytes.Equal(got.lines, b.lines) {
			t.Fatalf("round trip: got %+v, want %+v", got, b)
		}
	}
}

func TestDecodeBatchRejects(t *testing.T) {
	good := batch{source: "web1", chunk: "1C", end: 100, received: 7, count: 2, lines: []byte("{}\nxy\n")}
	enc := func(f func(b *batch)) []byte {
		b := good
		f(&b)
		return appendBatch(nil, &b)
	}
	p := appendBatch(nil, &good)
	for _, tc := range []struct {
		name string
		p    []byte
	}{
		{"empty", nil},
		{"kind only", []byte{kindBatch}},
		{"unknown kind", append([]byte{2}, p[1:]...)},
		{"empty source", enc(func(b *batch) { b.source = "" })},
		{"bad source", enc(func(b *batch) { b.source = "we b" })},
		{"long source", enc(func(b *batch) { b.source = strings.Repeat("s", 65) })},
		{"bad chunk", enc(func(b *batch) { b.chunk = "0" })},
		{"empty chunk", enc(func(b *batch) { b.chunk = "" })},
		{"long chunk", enc(func(b *batch) { b.chunk = strings.Repeat("1", 17) })},
		{"negative end", enc(func(b *batch) { b.end = -1 })},
		{"end before lines", enc(func(b *batch) { b.end = 3 })},
		{"count high", enc(func(b *batch) { b.count = 3 })},
		{"count low", enc(func(b *batch) { b.count = 1 })},
		{"no final newline", enc(func(b *batch) { b.lines = []byte("{}\nxy"); b.count = 1 })},
		{"trailing byte", append(bytes.Clone(p), 0)},
		{"cut short", p[:len(p)-1]},
		{"header cut", p[:10]},
		{"unknown flag", func() []byte { q := bytes.Clone(p); q[len(q)-len(good.lines)-9] = 2; return q }()},
	} {
		if _, err := decodeBatch(tc.p); !errors.Is(err, ErrRecord) {
			t.Errorf("%s: got %v, want ErrRecord", tc.name, err)
		}
	}
	if _, err := decodeBatch(p); err != nil {
		t.Fatalf("good record: %v", err)
	}
}

// FuzzDecodeBatch is seeded from testdata/fuzz/FuzzDecodeBatch and below.
func FuzzDecodeBatch(f *testing.F) {
	f.Add(appendBatch(nil, &batch{source: "web1", chunk: "1C", end: 100, received: 7, count: 2, lines: []byte("{}\nxy\n")}))
	f.Add(appendBatch(nil, &batch{source: "s", chunk: "Z", end: 0, complete: true}))
	f.Add([]byte{kindBatch, 1, 'a', 1, '1'})
	f.Fuzz(func(t *testing.T, p []byte) {
		b, err := decodeBatch(p)
		if err != nil {
			if !errors.Is(err, ErrRecord) {
				t.Fatalf("error %v is not ErrRecord", err)
			}
			return
		}
		if q := appendBatch(nil, &b); !bytes.Equal(p, q) {
			t.Fatalf("re-encoding differs:\n%x\n%x", p, q)
		}
	})
}
