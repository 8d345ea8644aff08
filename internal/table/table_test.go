package table

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"stele/internal/jsonscan"
	"stele/internal/segment"
)

const hour = int64(time.Hour)

// writeSeg writes a segment of partition part with the given lines of source
// "s1" and returns it uncommitted.
func writeSeg(t *testing.T, tb *Table, part int64, lines []string, times []int64) *Segment {
	t.Helper()
	w, err := tb.NewWriter(part)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range lines {
		if err := w.Add("s1", []byte(l), times[i]); err != nil {
			t.Fatal(err)
		}
	}
	s, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// all returns every record of the table, as rendered lines, sorted.
func all(t *testing.T, tb *Table) []string {
	t.Helper()
	snap := tb.Snapshot()
	defer snap.Release()
	var out []string
	for _, s := range snap.Segments {
		err := s.Scan(0, 1<<62, func(line []byte, _ int64) error {
			out = append(out, string(line))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(out)
	return out
}

func TestAddWrapsWhatBreaksTheContract(t *testing.T) {
	tb, err := Open(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s := writeSeg(t, tb, 0, []string{
		`{"time_ns":5,"msg":"ok"}`,
		`{"time_ns":6,"_source":"spoofed"}`,
		`plain text`,
		`{"msg":"no time"}`,
		"{\"time_ns\":8,\"bad\":\"\xff\"}",
	}, []int64{5, 6, 7, 7, 8})
	if err := tb.Commit(Change{Add: []*Segment{s}}); err != nil {
		t.Fatal(err)
	}
	got := all(t, tb)
	want := []string{
		`{"time_ns":5,"msg":"ok","_source":"s1"}`,
		`{"time_ns":6,"_source":"s1"}`,
		// Key order is the segment's (first seen first).
		`{"time_ns":7,"_source":"s1","_line":"plain text"}`,
		`{"time_ns":7,"_source":"s1","_line":"{\"msg\":\"no time\"}"}`,
		`{"time_ns":8,"_source":"s1","_line_b64":"eyJ0aW1lX25zIjo4LCJiYWQiOiL/In0="}`,
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s.Records != 5 || s.MinTime != 5 || s.MaxTime != 8 {
		t.Fatalf("info %+v", s.Info)
	}
}

// TestAddEventAsAdd checks that AddEvent stores what Add does for each
// line that jsonscan finds to be an event, as the store calls it.
func TestAddEventAsAdd(t *testing.T) {
	tb, err := Open(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	deep := `{"time_ns":4,"a":` + strings.Repeat(`[`, 300) + strings.Repeat(`]`, 300) + `}`
	lines := []string{
		`{"time_ns":1,"msg":"ok"}`,
		` {"time_ns":2, "n":1.5e3 , "o":{"p":[1,2]}} ` + "\r",
		`{"time_ns":3,"_source":"spoofed"}`,
		deep,
		`{"_source":"x","time_ns":5}`,
	}
	var segs [2]*Segment
	for i, event := range []bool{false, true} {
		w, err := tb.NewWriter(0)
		if err != nil {
			t.Fatal(err)
		}
		for j, l := range lines {
			r := jsonscan.Scan([]byte(l))
			if !r.Object || !r.HasTime || r.TimeKey != "time_ns" || !r.UTF8 {
				t.Fatalf("%s: not an event", l)
			}
			add := w.Add
			if event {
				add = w.AddEvent
			}
			if err := add("s1", []byte(l), int64(j+1)); err != nil {
				t.Fatal(err)
			}
		}
		if segs[i], err = w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var got [2][]string
	for i, s := range segs {
		err := s.Scan(0, 1<<62, func(line []byte, _ int64) error {
			got[i] = append(got[i], string(line))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(got[0], got[1]) {
		t.Fatalf("AddEvent stored\n%s\nAdd stored\n%s", strings.Join(got[1], "\n"), strings.Join(got[0], "\n"))
	}
	if segs[0].Info.Records != segs[1].Info.Records || segs[0].MinTime != segs[1].MinTime || segs[0].MaxTime != segs[1].MaxTime {
		t.Fatalf("info %+v, want %+v", segs[1].Info, segs[0].Info)
	}
}

func TestCommitSurvivesReopenAndDropsLeftovers(t *testing.T) {
	dir := t.TempDir()
	tb, err := Open(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	a := writeSeg(t, tb, 1, []string{fmt.Sprintf(`{"time_ns":%d,"a":1}`, hour)}, []int64{hour})
	if err := tb.Commit(Change{Add: []*Segment{a}, WAL: 7, State: []byte("cp")}); err != nil {
		t.Fatal(err)
	}
	// A segment written but never committed, as a crash leaves it.
	b := writeSeg(t, tb, 1, []string{fmt.Sprintf(`{"time_ns":%d,"b":1}`, hour+1)}, []int64{hour + 1})
	if _, err := os.Stat(b.path); err != nil {
		t.Fatal(err)
	}
	tb2, err := Open(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if tb2.WAL() != 7 || string(tb2.State()) != "cp" {
		t.Fatalf("wal %d state %q", tb2.WAL(), tb2.State())
	}
	if _, err := os.Stat(b.path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("uncommitted segment kept: %v", err)
	}
	if got := all(t, tb2); len(got) != 1 || !strings.Contains(got[0], `"a":1`) {
		t.Fatalf("records %q", got)
	}
	// A new segment never takes a live one's number.
	c := writeSeg(t, tb2, 1, []string{fmt.Sprintf(`{"time_ns":%d,"c":1}`, hour+2)}, []int64{hour + 2})
	if c.N <= a.N {
		t.Fatalf("segment number %d after live %d", c.N, a.N)
	}
}

func TestCorruptManifestIsAnError(t *testing.T) {
	dir := t.TempDir()
	tb, err := Open(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := tb.Commit(Change{WAL: 3, State: []byte("state")}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, manifestName)
	b, _ := os.ReadFile(path)
	b[20] ^= 1
	os.WriteFile(path, b, 0o600)
	if _, err := Open(dir, time.Hour); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open of a flipped bit: %v", err)
	}
	b[20] ^= 1
	b[8] = 9
	os.WriteFile(path, b, 0o600)
	var ve *VersionError
	if _, err := Open(dir, time.Hour); !errors.As(err, &ve) || ve.Version != 9 {
		t.Fatalf("open of version 9: %v", err)
	}
}

func TestMergeKeepsEveryRecordSortedAndSnapshotsValid(t *testing.T) {
	dir := t.TempDir()
	tb, err := Open(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range mergeFanIn {
		var lines []string
		var times []int64
		for j := range 50 {
			ts := hour + int64(j*mergeFanIn+i)
			lines = append(lines, fmt.Sprintf(`{"time_ns":%d,"i":%d}`, ts, i))
			times = append(times, ts)
			want = append(want, fmt.Sprintf(`{"time_ns":%d,"i":%d,"_source":"s1"}`, ts, i))
		}
		if err := tb.Commit(Change{Add: []*Segment{writeSeg(t, tb, 1, lines, times)}}); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(want)
	old := tb.Snapshot()
	m, ok, err := tb.Merge(time.Unix(0, hour))
	if err != nil || !ok {
		t.Fatalf("merge: %v %v", ok, err)
	}
	if len(m.Inputs) != mergeFanIn || m.Output.Records != int64(len(want)) {
		t.Fatalf("merged %+v", m)
	}
	if got := all(t, tb); !slices.Equal(got, want) {
		t.Fatalf("after merge %d records, want %d", len(got), len(want))
	}
	// The old snapshot's files are still readable until released.
	for _, s := range old.Segments {
		if err := s.Scan(0, 1<<62, func([]byte, int64) error { return nil }); err != nil {
			t.Fatalf("old snapshot: %v", err)
		}
	}
	old.Release()
	for _, s := range old.Segments {
		if _, err := os.Stat(s.path); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("merged input %s kept after release", s.Info)
		}
	}
	// The output is sorted by time.
	snap := tb.Snapshot()
	defer snap.Release()
	last := int64(-1)
	snap.Segments[0].Scan(0, 1<<62, func(_ []byte, ts int64) error {
		if ts < last {
			t.Fatalf("time %d after %d", ts, last)
		}
		last = ts
		return nil
	})
	// That merge was warm, so its output is encoded fast: once the
	// partition is cold it is rewritten in full, once.
	if !snap.Segments[0].fast {
		t.Fatal("a warm merge's output is not marked fast")
	}
	m, ok, err = tb.Merge(time.Unix(0, 10*hour))
	if err != nil || !ok || len(m.Inputs) != 1 || m.Output.Records != int64(len(want)) {
		t.Fatalf("cold rewrite of the fast output: %+v %v %v", m, ok, err)
	}
	if _, ok, _ := tb.Merge(time.Unix(0, 10*hour)); ok {
		t.Fatal("merged a partition with one segment encoded in full")
	}
}

// TestMergeRewritesALoneFastSegment checks that a segment encoded fast is
// rewritten with the full encoder once its partition is cold, even alone,
// and only then.
func TestMergeRewritesALoneFastSegment(t *testing.T) {
	tb, err := Open(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	w, err := tb.NewWriter(1)
	if err != nil {
		t.Fatal(err)
	}
	w.EncodeFast()
	var want []string
	for j := range 500 {
		ts := hour + int64(j)
		if err := w.Add("s1", fmt.Appendf(nil, `{"time_ns":%d,"msg":"request %d done"}`, ts, j*j), ts); err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf(`{"time_ns":%d,"msg":"request %d done","_source":"s1"}`, ts, j*j))
	}
	s, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := tb.Commit(Change{Add: []*Segment{s}}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := tb.Merge(time.Unix(0, 2*hour)); ok || err != nil {
		t.Fatalf("merged a lone segment of a warm partition: %v", err)
	}
	m, ok, err := tb.Merge(time.Unix(0, 10*hour))
	if err != nil || !ok || len(m.Inputs) != 1 || m.Output.Records != 500 {
		t.Fatalf("merge: %+v %v %v", m, ok, err)
	}
	if m.Output.Bytes >= m.Inputs[0].Bytes {
		t.Errorf("rewritten in %d bytes, fast in %d", m.Output.Bytes, m.Inputs[0].Bytes)
	}
	slices.Sort(want)
	if got := all(t, tb); !slices.Equal(got, want) {
		t.Fatalf("after merge %d records, want %d", len(got), len(want))
	}
	if _, ok, _ := tb.Merge(time.Unix(0, 10*hour)); ok {
		t.Fatal("merged the full segment again")
	}
}

// TestMergeRewritesLogarithmically checks that a partition taking many
// flushes has each record rewritten a few times, not once every few
// flushes, whether its time is now or long past (a backfill), and that it
// ends as one segment once quiet.
func TestMergeRewritesLogarithmically(t *testing.T) {
	for _, at := range []int64{hour, 10 * hour} {
		tb, err := Open(t.TempDir(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		const flushes, per = 64, 50
		var rewritten int64
		merge := func(now int64) {
			for {
				m, ok, err := tb.Merge(time.Unix(0, now))
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					return
				}
				rewritten += m.Output.Records
			}
		}
		for i := range flushes {
			var lines []string
			var times []int64
			for j := range per {
				ts := hour + int64(j*flushes+i)
				lines = append(lines, fmt.Sprintf(`{"time_ns":%d,"i":%d}`, ts, i))
				times = append(times, ts)
			}
			if err := tb.Commit(Change{Add: []*Segment{writeSeg(t, tb, 1, lines, times)}}); err != nil {
				t.Fatal(err)
			}
			merge(at + int64(i)*int64(time.Second))
		}
		const records = flushes * per
		t.Logf("at %dh: %d segments; records rewritten %.1f times", at/hour, tb.Totals().Segments, float64(rewritten)/records)
		// Segments of one flush are about equal: each merge at least
		// doubles the records it rewrites, about log₂(64) = 6 times in all.
		if rewritten > 7*records {
			t.Errorf("at %dh: records rewritten %.1f times", at/hour, float64(rewritten)/records)
		}
		merge(100 * hour)
		if tot := tb.Totals(); tot.Segments != 1 || tot.Records != records {
			t.Errorf("at %dh: quiet partition: %+v", at/hour, tot)
		}
	}
}

func TestRetainByAgeAndBytes(t *testing.T) {
	tb, err := Open(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for p := int64(0); p < 4; p++ {
		s := writeSeg(t, tb, p, []string{fmt.Sprintf(`{"time_ns":%d}`, p*hour+1)}, []int64{p*hour + 1})
		if err := tb.Commit(Change{Add: []*Segment{s}}); err != nil {
			t.Fatal(err)
		}
	}
	gone, err := tb.Retain(hour+2, 0)
	if err != nil || len(gone) != 2 || gone[0].Part != 0 || gone[1].Part != 1 {
		t.Fatalf("by age: %v %v", gone, err)
	}
	tot := tb.Totals()
	gone, err = tb.Retain(0, tot.Bytes-1)
	if err != nil || len(gone) != 1 || gone[0].Part != 2 {
		t.Fatalf("by bytes: %v %v", gone, err)
	}
	if tb.Totals().Segments != 1 {
		t.Fatalf("left %+v", tb.Totals())
	}
}

func FuzzManifest(f *testing.F) {
	m := &manifest{wal: 3, next: 9, segs: []Info{{Part: 1, N: 2, Bytes: 100, Records: 5, MinTime: 1, MaxTime: 9}}, state: []byte("x")}
	f.Add(m.encode())
	f.Add((&manifest{next: 1}).encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeManifest(b)
		if err != nil {
			return
		}
		if got := m.encode(); string(got) != string(b) {
			t.Fatalf("re-encoding differs")
		}
	})
}

// TestMergeKeepsEveryShape merges segments whose records hold every shape
// the columnar format keeps specially (JSON leaves: arrays of arrays,
// mixed arrays, empty objects and arrays, deep nesting; nulls; fields of
// changing types; wrapped lines), each input with its own schema, into
// blocks of several records: the merged records equal the inputs' as JSON
// values (the merged schema may order keys differently).
func TestMergeKeepsEveryShape(t *testing.T) {
	defer func(n int) { blockRows = n }(blockRows)
	blockRows = 7 // inputs of several blocks, and an output too
	tb, err := Open(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	shapes := []string{
		`"a":[[1,2],[3]]`, `"a":[1,"x",null]`, `"a":{}`, `"a":[]`, `"a":null`, `"a":7`, `"a":"seven"`,
		`"b":{"c":{"d":[{"e":1},{"e":[1,[2]]},{}]}}`, `"b":{"c":5}`, `"b":[{"c":1},{"c":"x"}]`,
		`"n":1.50`, `"n":-0`, `"n":1e400`, `"s":"\u2028\"q\"\\"`, `"t":true,"f":false`,
	}
	var want []string
	for seg := range 3 {
		var lines []string
		var times []int64
		for i := range 40 {
			ts := hour + int64(i*3+seg)
			var line string
			if i%13 == 5 {
				line = fmt.Sprintf("not json %d of %d", i, seg)
			} else {
				line = fmt.Sprintf(`{"time_ns":%d,%s,%s}`, ts, shapes[(i+seg)%len(shapes)], shapes[(i*7+seg)%len(shapes)])
			}
			lines = append(lines, line)
			times = append(times, ts)
		}
		s := writeSeg(t, tb, 1, lines, times)
		if err := tb.Commit(Change{Add: []*Segment{s}}); err != nil {
			t.Fatal(err)
		}
	}
	want = canonical(t, all(t, tb))
	tb.Merge(time.Unix(0, 100*hour)) // the partition's quiet starts
	for {
		_, ok, err := tb.Merge(time.Unix(0, 100*hour).Add(2 * mergeQuiet))
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
	}
	snap := tb.Snapshot()
	n := len(snap.Segments)
	snap.Release()
	if n != 1 {
		t.Fatalf("%d segments after merging", n)
	}
	got := canonical(t, all(t, tb))
	if len(got) != len(want) {
		t.Fatalf("%d records after merging, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("merged record %s, want %s", got[i], want[i])
		}
	}
}

// canonical returns JSON lines with object keys sorted and numbers as
// written, sorted.
func canonical(t *testing.T, lines []string) []string {
	var out []string
	for _, l := range lines {
		d := json.NewDecoder(strings.NewReader(l))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	slices.Sort(out)
	return out
}

// TestMergeColumnsAsRecords checks that segments of top-level fields
// merged as columns hold what merging their records one at a time gives,
// record for record: every type, a key with values of several types,
// records without some keys, wrapped lines, equal times across inputs,
// and blocks ending at different records in each input and the output.
func TestMergeColumnsAsRecords(t *testing.T) {
	defer func(n int) { blockRows = n }(blockRows)
	blockRows = 7
	tb, err := Open(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	values := []string{`7`, `"seven"`, `1.50`, `-0`, `null`, `true`, `false`, `"\u2028\"q\"\\"`, `1e400`, `{}`, `[]`, `-12`}
	var in []*Segment
	for seg := range 3 {
		var lines []string
		var times []int64
		for i := range 20 + 9*seg {
			ts := hour + int64(i*2+seg%2) // segments 0 and 2 share times
			line := fmt.Sprintf(`{"time_ns":%d,"a":%s,"k%d":%s}`, ts, values[(i+seg)%len(values)], i%5, values[i*5%len(values)])
			if i%11 == 4 {
				line = fmt.Sprintf("not json %d of %d", i, seg)
			}
			lines = append(lines, line)
			times = append(times, ts)
		}
		in = append(in, writeSeg(t, tb, 1, lines, times))
	}
	merged := func(merge func(*Writer, []*segment.File, []string) error) []string {
		w, err := tb.NewWriter(1)
		if err != nil {
			t.Fatal(err)
		}
		var files []*segment.File
		var names []string
		for _, s := range in {
			f, err := segment.OpenFile(s.path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if !flatSchema(f.Schema) {
				t.Fatalf("%s: schema not flat:\n%s", s.Info, f.Schema)
			}
			files, names = append(files, f), append(names, s.Info.String())
		}
		if err := merge(w, files, names); err != nil {
			t.Fatal(err)
		}
		out, err := w.Close()
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		err = out.Scan(0, 1<<62, func(line []byte, _ int64) error {
			lines = append(lines, canonical(t, []string{string(line)})[0])
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return lines
	}
	cols, recs := merged(mergeColumns), merged(mergeRecords)
	if len(cols) != len(recs) {
		t.Fatalf("%d records merged as columns, %d as records", len(cols), len(recs))
	}
	for i := range cols {
		if cols[i] != recs[i] {
			t.Errorf("record %d: %s merged as columns, %s as records", i, cols[i], recs[i])
		}
	}
}
