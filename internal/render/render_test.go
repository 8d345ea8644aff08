package render

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"stele/internal/goldenfile"
)

func i(n int64) Cell     { return Cell{Kind: Int, Int: n} }
func f(s string) Cell    { return Cell{Kind: Float, Str: s} }
func s(v string) Cell    { return Cell{Kind: String, Str: v} }
func js(v string) Cell   { return Cell{Kind: JSON, Str: v} }
func b(v bool) Cell      { return Cell{Kind: Bool, Bool: v} }
func null() Cell         { return Cell{} }
func mins(n int64) int64 { return 1714564800_000000000 + n*60_000000000 } // 2024-05-01T12:00Z + n minutes

const hostile = "a\"b,c\n=1+2 \x1b[31mred\x1b[0m </svg><script>alert(1)</script> \xff\xfe \u202eevil & 'q' \t\r"

// result is one query result as the engine would hand it over.
type result struct {
	h      Header
	rows   [][]Cell
	events []string
	err    string
}

var results = []struct {
	name string
	r    result
}{
	{"every_by", result{
		h: Header{Columns: []string{"time_ns", "rpc_method", "count", "p99_duration_ms"}, Time: 0, Keys: 1},
		rows: [][]Cell{
			{i(mins(0)), s("Get"), i(120), f("12.5")},
			{i(mins(0)), s("Put"), i(30), f("250")},
			{i(mins(0)), null(), i(2), null()},
			{i(mins(5)), s("Get"), i(140), f("9.75")},
			{i(mins(5)), s("Put"), i(41), f("1e3")},
			{i(mins(10)), s("Get"), i(90), f("11")},
			{i(mins(10)), s("Put"), i(12), f("-3.5")},
		},
	}},
	{"stats", result{
		h:    Header{Columns: []string{"count", "avg_duration_ms", "distinct_pii_uid"}, Time: -1},
		rows: [][]Cell{{i(1234567), f("17.25"), i(88)}},
	}},
	{"by", result{
		h: Header{Columns: []string{"rpc_method", "status", "count"}, Time: -1, Keys: 2},
		rows: [][]Cell{
			{s("/payments.v1.Ledger/Transfer"), i(200), i(1000)},
			{s("/users.v2.Directory/Lookup"), i(500), i(7)},
			{null(), null(), i(3)},
		},
	}},
	{"every", result{
		h: Header{Columns: []string{"time_ns", "count"}, Time: 0},
		rows: [][]Cell{
			{i(mins(0)), i(5)}, {i(mins(1)), i(8)}, {i(mins(2)), i(3)}, {i(mins(3)), i(13)},
		},
	}},
	{"raw", result{
		h: Header{Raw: true, Time: -1},
		events: []string{
			`{"time_ns":1714564800123456789,"msg":"hello","n":-1.5e3,"ok":true,"nested":{"a":[1, 2,{"b":null}]},"gone":null}`,
			`{"time_ns":1714564801000000000,"msg":"second","extra":"only here","nested":[]}`,
			`{"time":"2024-05-01T12:00:02Z","_line":"no time_ns"}`,
			`not json at all`,
		},
	}},
	{"hostile", result{
		h: Header{Columns: []string{"time_ns", hostile, "count", "x"}, Time: 0, Keys: 1},
		rows: [][]Cell{
			{i(mins(0)), s(hostile), i(1), s("=HYPERLINK(\"http://evil\")")},
			{i(mins(1)), s("-2+3"), i(-2), js(`{"k":"` + "\\u001b[31m</svg>" + `"}`)},
			{i(mins(2)), s("@SUM(A1)"), f("-0.5"), b(false)},
		},
	}},
	{"hostile_raw", result{
		h: Header{Raw: true, Time: -1},
		events: []string{
			`{"time_ns":1714564800000000000,"msg":"\u001b[31mred\u001b]0;title\u0007\n</svg>","=cmd":"+1","bad":"\ud800 \u202e rev","time":"slog time"}`,
		},
	}},
	{"error", result{
		h:    Header{Columns: []string{"time_ns", "rpc_method", "count"}, Time: 0, Keys: 1},
		rows: [][]Cell{{i(mins(0)), s("Get"), i(1)}, {i(mins(1)), s("Get"), i(2)}},
		err:  "query memory limit reached\n\x1b[31m<b>",
	}},
}

var extensions = map[string]string{"ndjson": "ndjson", "table": "txt", "csv": "csv", "svg": "svg"}

// run renders r in format and returns the output, or the error that
// stopped it.
func run(format string, r result) ([]byte, error) {
	var out bytes.Buffer
	w, err := New(format, &out)
	if err != nil {
		return nil, err
	}
	if err := w.Begin(r.h); err != nil {
		return nil, err
	}
	for _, row := range r.rows {
		if err := w.Row(row); err != nil {
			return nil, err
		}
	}
	for _, ev := range r.events {
		if err := w.Event([]byte(ev)); err != nil {
			return nil, err
		}
	}
	if err := w.End(r.err); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func TestGolden(t *testing.T) {
	for _, tt := range results {
		for _, format := range Formats {
			t.Run(tt.name+"/"+format, func(t *testing.T) {
				got, err := run(format, tt.r)
				if err != nil {
					got = fmt.Appendf(nil, "error: %v\n", err)
				}
				goldenfile.Check(t, tt.name+"."+extensions[format], got)
				if err == nil {
					checkValid(t, format, got)
				}
			})
		}
	}
}

// checkValid checks what every output of a format must satisfy.
func checkValid(t *testing.T, format string, out []byte) {
	t.Helper()
	switch format {
	case "ndjson":
		for _, line := range bytes.SplitAfter(out, []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			// json.Valid, not Unmarshal: a literal like 1e999 is valid JSON
			// that float64 cannot hold, and is kept as written.
			if line[0] != '{' || line[len(line)-1] != '\n' || bytes.Count(line, []byte("\n")) != 1 || !json.Valid(line) {
				t.Fatalf("ndjson line is not one JSON object: %q", line)
			}
		}
	case "table":
		if bytes.ContainsAny(out, "\x1b\x07\r\u202e") || !bytes.Equal(bytes.ToValidUTF8(out, nil), out) {
			t.Fatalf("table output holds a control character or invalid UTF-8:\n%q", out)
		}
	case "svg":
		if _, err := parseSVG(out); err != nil {
			t.Fatalf("svg is not XML: %v\n%s", err, out)
		}
	}
}

// svgFacts is what parseSVG finds in a chart.
type svgFacts struct {
	series int      // paths of class "series"
	panels int      // groups of class "panel"
	legend []string // text of the legend group, in order
	text   []string // all text
}

func parseSVG(out []byte) (svgFacts, error) {
	var fs svgFacts
	d := xml.NewDecoder(bytes.NewReader(out))
	inLegend := false
	for {
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return fs, nil
			}
			return fs, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			class := ""
			for _, a := range tok.Attr {
				if a.Name.Local == "class" {
					class = a.Value
				}
			}
			switch {
			case tok.Name.Local == "path" && class == "series":
				fs.series++
			case tok.Name.Local == "g" && class == "panel":
				fs.panels++
			case tok.Name.Local == "g" && class == "legend":
				inLegend = true
			}
		case xml.EndElement:
			if tok.Name.Local == "g" {
				inLegend = false
			}
		case xml.CharData:
			if s := strings.TrimSpace(string(tok)); s != "" {
				fs.text = append(fs.text, s)
				if inLegend {
					fs.legend = append(fs.legend, s)
				}
			}
		}
	}
}
