package render

import (
	"errors"
	"testing"
)

// FuzzRender renders fuzzed cells (as a stats every query) and a fuzzed
// event line (as a raw result) in every format: no panic, and the output
// of each format stays valid (checkValid).
func FuzzRender(f *testing.F) {
	for _, tt := range results {
		for _, ev := range tt.r.events {
			f.Add(byte(0), "", int64(0), ev)
		}
		for _, row := range tt.r.rows {
			for _, c := range row {
				f.Add(byte(c.Kind), c.Str, c.Int, "{}")
			}
		}
	}
	f.Add(byte(Float), "1e999", int64(-1), `{"time_ns":-5}`)
	f.Add(byte(JSON), "{\"a\":\n1}", int64(1<<62), `{"a":1}`+"\n"+`{"b":2}`)
	f.Add(byte(Float), "NaN", int64(-1<<63), `{"time_ns":9223372036854775807,"a":{"a":{}},"a":[]}`)
	f.Fuzz(func(t *testing.T, kind byte, str string, n int64, event string) {
		c := Cell{Kind: Kind(kind % 6), Str: str, Int: n, Bool: n&1 == 1}
		stats := result{
			h: Header{Columns: []string{"time_ns", str, "value"}, Time: 0, Keys: 1},
			rows: [][]Cell{
				{i(n), c, c},
				{i(n / 3), s(str), c},
				{c, null(), i(n)},
			},
			err: str,
		}
		raw := result{h: Header{Raw: true, Time: -1}, events: []string{event, str}, err: str}
		for _, format := range Formats {
			for _, r := range []result{stats, raw} {
				out, err := run(format, r)
				if err != nil {
					if format == "svg" && r.h.Raw && errors.Is(err, ErrNeedsEvery) {
						continue
					}
					t.Fatalf("%s: %v", format, err)
				}
				checkValid(t, format, out)
			}
		}
	})
}
