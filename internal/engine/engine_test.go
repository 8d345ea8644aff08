package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"stele/internal/ingest"
	"stele/internal/query"
	"stele/internal/table"
)

// textOut renders a result as text lines, for tests.
type textOut struct {
	b strings.Builder
}

func (o *textOut) Begin(h Header) error {
	if !h.Raw {
		fmt.Fprintf(&o.b, "%s\n", strings.Join(h.Columns, " | "))
	}
	return nil
}

func (o *textOut) Row(vals []Val) error {
	for i, v := range vals {
		if i > 0 {
			o.b.WriteString(" | ")
		}
		o.b.Write(appendJSON(nil, v))
	}
	o.b.WriteByte('\n')
	return nil
}

func (o *textOut) Event(line []byte) error {
	o.b.Write(line)
	o.b.WriteByte('\n')
	return nil
}

// testSource stores lines of source "s1" half in a segment, half in memory.
func testSource(t testing.TB, lines []string, times []int64) Source {
	tb, err := table.Open(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	half := len(lines) / 2
	w, err := tb.NewWriter(0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range lines[:half] {
		if err := w.Add("s1", []byte(lines[i]), times[i]); err != nil {
			t.Fatal(err)
		}
	}
	seg, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	src := Source{}
	if seg != nil {
		src.Segments = []*table.Segment{seg}
	}
	for i := half; i < len(lines); i++ {
		src.Mem = append(src.Mem, ingest.Record{Source: "s1", TimeNS: times[i], Line: []byte(lines[i])})
	}
	return src
}

func run(t *testing.T, src Source, text string, tok *Tokenizer) (string, error) {
	t.Helper()
	q, err := query.Parse(text)
	if err != nil {
		return "", err
	}
	var out textOut
	_, err = Run(context.Background(), q, src, Options{Now: time.Unix(0, 100), Tokens: tok}, &out)
	return out.b.String(), err
}

// queryCase is a query and the text run gives for it.
type queryCase struct{ q, want string }

// checkQueries runs each query over src for a client with pii access.
func checkQueries(t *testing.T, src Source, cases []queryCase) {
	t.Helper()
	for _, tc := range cases {
		got, err := run(t, src, tc.q, nil)
		if err != nil {
			t.Errorf("%q: %v", tc.q, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%q:\n%s\nwant:\n%s", tc.q, got, tc.want)
		}
	}
}

func TestSmoke(t *testing.T) {
	var lines []string
	var times []int64
	for i := range 10 {
		lines = append(lines, fmt.Sprintf(`{"time_ns":%d,"m":"%s","d":%d,"pii_uid":"u%d"}`, i*1e9, []string{"a", "b"}[i%2], i*10, i%3))
		times = append(times, int64(i)*1e9)
	}
	src := testSource(t, lines, times)
	checkQueries(t, src, []queryCase{
		{"limit 2", `{"time_ns":9000000000,"m":"b","d":90,"pii_uid":"u0","_source":"s1"}` + "\n" + `{"time_ns":8000000000,"m":"a","d":80,"pii_uid":"u2","_source":"s1"}` + "\n"},
		{"stats count, sum(d), p50(d) by m", "m | count | sum_d | p50_d\n\"a\" | 5 | 200 | 40\n\"b\" | 5 | 250 | 50\n"},
		{"where d >= 50 and m = \"a\"\nfields time_ns, d", "time_ns | d\n8000000000 | 80\n6000000000 | 60\n"},
		{"stats count by m every 5s", "time_ns | m | count\n0 | \"a\" | 3\n0 | \"b\" | 2\n5000000000 | \"a\" | 2\n5000000000 | \"b\" | 3\n"},
		{"stats distinct(pii_uid)", "distinct_pii_uid\n3\n"},
		{"where not exists nope\nstats count", "count\n10\n"},
		{"stats count by m\nwhere count > 4\nsort m desc", "m | count\n\"b\" | 5\n\"a\" | 5\n"},
		{"sort d\nlimit 1\nfields d", "d\n0\n"},
	})
}

// TestPercentileRank checks nearest ranks where float arithmetic errs:
// 99.9/100*1000 is just above 999.
func TestPercentileRank(t *testing.T) {
	var lines []string
	var times []int64
	for i := 1; i <= 1000; i++ {
		lines = append(lines, fmt.Sprintf(`{"time_ns":%d,"v":%d}`, i, i))
		times = append(times, int64(i))
	}
	src := testSource(t, lines, times)
	got, err := run(t, src, "stats p50(v), p90(v), p95(v), p99(v), p999(v)", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "p50_v | p90_v | p95_v | p99_v | p999_v\n500 | 900 | 950 | 990 | 999\n"; got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
}

// TestWrappedLinesWithPersonalData: a line that was not JSON, kept whole as
// _line, cannot mark its personal data by key; if it mentions pii_ a client
// without pii sees and searches only its token.
func TestWrappedLinesWithPersonalData(t *testing.T) {
	tok := NewTokenizer([]byte("0123456789abcdef0123456789abcdef"))
	src := testSource(t, []string{
		`{"pii_uid":"carol-tripwire", broken`,
		`plain text about nothing`,
		`{"pii_uid":"carol-tripwire", broken again`,
		`more plain text`,
	}, []int64{1, 2, 3, 4})
	for _, q := range []string{"limit 10", "fields _line", "stats count by _line", `where _line contains "carol"` + "\nstats count", `where _line ~ "tripwire"` + "\nstats count"} {
		got, err := run(t, src, q, tok)
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		if strings.Contains(got, "carol") || strings.Contains(got, "tripwire") {
			t.Errorf("%q leaks a wrapped line's personal data:\n%s", q, got)
		}
		if strings.Contains(q, "contains") && !strings.Contains(got, "\n0\n") {
			t.Errorf("%q matched a masked line:\n%s", q, got)
		}
	}
	got, err := run(t, src, "fields _line", nil)
	if err != nil || !strings.Contains(got, "carol-tripwire") || !strings.Contains(got, "plain text about nothing") {
		t.Fatalf("a pii client sees: %s %v", got, err)
	}
	got, _ = run(t, src, "fields _line", tok)
	if !strings.Contains(got, "plain text about nothing") || strings.Count(got, "pii:") != 2 {
		t.Fatalf("without pii, lines that do not mention pii_ stay readable, others are tokens:\n%s", got)
	}
}
