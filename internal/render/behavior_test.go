package render

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"stele/internal/goldenfile"
)

func TestNewUnknownFormat(t *testing.T) {
	_, err := New("xml", new(bytes.Buffer))
	if !errors.Is(err, ErrUnknownFormat) || !strings.Contains(err.Error(), "known: ndjson, table, csv, svg") {
		t.Fatalf("New(xml) = %v", err)
	}
}

func TestSVGRefuses(t *testing.T) {
	tests := []struct {
		h    Header
		want error
	}{
		{Header{Columns: []string{"rpc_method", "count"}, Time: -1, Keys: 1}, ErrNeedsEvery},
		{Header{Raw: true, Time: -1}, ErrNeedsEvery},
		{Header{Columns: []string{"time_ns", "rpc_method"}, Time: 0, Keys: 1}, ErrNoValues},
	}
	for _, tt := range tests {
		w, _ := New("svg", new(bytes.Buffer))
		if err := w.Begin(tt.h); !errors.Is(err, tt.want) {
			t.Errorf("Begin(%+v) = %v, want %v", tt.h, err, tt.want)
		}
	}
}

func TestMisuse(t *testing.T) {
	for _, format := range Formats {
		w, _ := New(format, new(bytes.Buffer))
		if err := w.Begin(Header{Columns: []string{"time_ns", "count"}, Time: 0}); err != nil {
			t.Fatal(err)
		}
		if err := w.Row([]Cell{i(1)}); !errors.Is(err, ErrColumnCount) {
			t.Errorf("%s: short row: %v", format, err)
		}
		if err := w.Event([]byte(`{"a":1}`)); err == nil {
			t.Errorf("%s: Event in a result of rows: no error", format)
		}
	}
}

// chart renders an every query of the given series and rows per series
// and returns the facts parseSVG finds.
func chart(t *testing.T, nSeries, perSeries int, values []string, errMsg string) (svgFacts, string) {
	t.Helper()
	cols := append([]string{"time_ns", "rpc_method"}, values...)
	r := result{h: Header{Columns: cols, Time: 0, Keys: 1}, err: errMsg}
	for p := range perSeries {
		for sr := range nSeries {
			row := []Cell{i(mins(int64(p))), s(fmt.Sprintf("<m%d>&", sr))}
			for range values {
				row = append(row, i(int64(sr*1000+p)))
			}
			r.rows = append(r.rows, row)
		}
	}
	out, err := run("svg", r)
	if err != nil {
		t.Fatal(err)
	}
	facts, err := parseSVG(out)
	if err != nil {
		t.Fatalf("not XML: %v", err)
	}
	return facts, string(out)
}

func TestSVGSeries(t *testing.T) {
	facts, _ := chart(t, 3, 5, []string{"count", "p99_duration_ms"}, "")
	if facts.panels != 2 || facts.series != 2*3 {
		t.Errorf("panels %d series paths %d, want 2 and 6", facts.panels, facts.series)
	}
	want := []string{"3 series", "<m2>&", "<m1>&", "<m0>&"} // largest total first
	if fmt.Sprint(facts.legend) != fmt.Sprint(want) {
		t.Errorf("legend %q, want %q", facts.legend, want)
	}
}

func TestSVGTopSeries(t *testing.T) {
	facts, _ := chart(t, maxSeries+5, 2, []string{"count"}, "")
	if facts.series != maxSeries {
		t.Errorf("%d series paths, want %d", facts.series, maxSeries)
	}
	if want := fmt.Sprintf("top %d of %d series by total count", maxSeries, maxSeries+5); facts.legend[0] != want {
		t.Errorf("legend head %q, want %q", facts.legend[0], want)
	}
	if facts.legend[1] != fmt.Sprintf("<m%d>&", maxSeries+4) {
		t.Errorf("first series %q, want the largest", facts.legend[1])
	}
}

func TestSVGNotes(t *testing.T) {
	facts, _ := chart(t, 1, maxChartRows+10, []string{"count"}, "time limit reached")
	all := strings.Join(facts.text, "\n")
	for _, want := range []string{
		fmt.Sprintf("only the first %d rows are drawn", maxChartRows),
		"error: the query failed: time limit reached",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("chart lacks the note %q", want)
		}
	}
	facts, _ = chart(t, 0, 0, []string{"count"}, "")
	if !strings.Contains(strings.Join(facts.text, "\n"), "no rows to draw") {
		t.Errorf("empty chart lacks its note")
	}
}

func TestSVGPanels(t *testing.T) {
	var values []string
	for v := range maxPanels + 2 {
		values = append(values, fmt.Sprintf("v%d", v))
	}
	facts, _ := chart(t, 2, 3, values, "")
	if facts.panels != maxPanels || facts.series != 2*maxPanels {
		t.Errorf("panels %d series paths %d", facts.panels, facts.series)
	}
	if !strings.Contains(strings.Join(facts.legend, "\n"), fmt.Sprintf("charting %d of %d value columns", maxPanels, maxPanels+2)) {
		t.Errorf("legend lacks the panel note: %q", facts.legend)
	}
}

func TestValueTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		want   string
	}{
		{3, 97, "[0 20 40 60 80 100]"},
		{-3.5, 1000, "[-500 0 500 1000]"},
		{0.012, 0.049, "[0.00 0.01 0.02 0.03 0.04 0.05]"},
		{5, 5, "[0 1 2 3 4 5]"},
		{-1.7e308, 1.7e308, "[-1.7e+308 1.7e+308]"},
	}
	for _, tt := range tests {
		ticks, _, _ := valueTicks(tt.lo, tt.hi)
		var got []string
		for _, v := range ticks {
			got = append(got, formatTick(v, ticks))
		}
		if g := fmt.Sprint(got); g != tt.want {
			t.Errorf("valueTicks(%v, %v) = %s, want %s", tt.lo, tt.hi, g, tt.want)
		}
	}
}

// TestTableStreams checks that table writes its layout once its buffer is
// full, then every row at once with the same widths.
func TestTableStreams(t *testing.T) {
	var out bytes.Buffer
	w, _ := New("table", &out)
	if err := w.Begin(Header{Columns: []string{"k", "count"}, Time: -1, Keys: 1}); err != nil {
		t.Fatal(err)
	}
	for n := range maxBufferedRows - 1 {
		if err := w.Row([]Cell{s("ab"), i(int64(n))}); err != nil {
			t.Fatal(err)
		}
	}
	if out.Len() != 0 {
		t.Fatalf("wrote %d bytes before the buffer was full", out.Len())
	}
	if err := w.Row([]Cell{s("ab"), i(0)}); err != nil {
		t.Fatal(err)
	}
	if lines := bytes.Count(out.Bytes(), []byte("\n")); lines != maxBufferedRows+1 {
		t.Fatalf("%d lines after a full buffer, want %d", lines, maxBufferedRows+1)
	}
	out.Reset()
	if err := w.Row([]Cell{s("a much wider key"), i(7)}); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "a much wider key      7\n"; got != want {
		t.Errorf("later row %q, want %q (overflowing, same widths)", got, want)
	}
}

// TestRawOther checks that keys arriving after the layout was made (here by
// Flush, as before a follow query waits) land in the _other column.
func TestRawOther(t *testing.T) {
	for _, format := range []string{"table", "csv"} {
		var out bytes.Buffer
		w, _ := New(format, &out)
		if err := w.Begin(Header{Raw: true, Time: -1}); err != nil {
			t.Fatal(err)
		}
		steps := []func() error{
			func() error { return w.Event([]byte(`{"time_ns":0,"a":"x"}`)) },
			w.Flush,
			func() error { return w.Event([]byte(`{"time_ns":1000000,"a":"y","b":{"c":[1]},"d":"e"}`)) },
			func() error { return w.End("") },
		}
		for _, step := range steps {
			if err := step(); err != nil {
				t.Fatal(err)
			}
		}
		goldenfile.Check(t, "other."+extensions[format], out.Bytes())
	}
}

func TestRawKeyBound(t *testing.T) {
	var ev strings.Builder
	ev.WriteString(`{"time_ns":5`)
	for k := range maxRawColumns + 3 {
		fmt.Fprintf(&ev, `,"k%d":%d`, k, k)
	}
	ev.WriteString("}")
	out, err := run("csv", result{h: Header{Raw: true, Time: -1}, events: []string{ev.String()}})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(out), "\n")
	header, row := strings.Split(lines[0], ","), lines[1]
	if len(header) != 2+maxRawColumns+1 || header[len(header)-1] != otherName {
		t.Fatalf("header has %d columns ending %q", len(header), header[len(header)-1])
	}
	if want := fmt.Sprintf(`"{""k%d"":%d,""k%d"":%d,""k%d"":%d}"`, maxRawColumns, maxRawColumns, maxRawColumns+1, maxRawColumns+1, maxRawColumns+2, maxRawColumns+2); !strings.HasSuffix(row, want) {
		t.Errorf("row ends %q, want %q", row[max(0, len(row)-80):], want)
	}
}
