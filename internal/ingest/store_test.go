package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"stele/internal/dedup"
	"stele/internal/leakcheck"
	"stele/internal/wal"
)

const hour = int64(time.Hour)

// ev returns event line i of a test stream, with time_ns spread over hours.
func ev(i int) string {
	return fmt.Sprintf(`{"time_ns":%d,"n":%d}`+"\n", int64(i)*hour/7, i)
}

// evs returns the lines i from..to-1 as one run.
func evs(from, to int) []byte {
	var b strings.Builder
	for i := from; i < to; i++ {
		b.WriteString(ev(i))
	}
	return []byte(b.String())
}

func open(t testing.TB, o Options) (*Store, ReplayReport) {
	t.Helper()
	if o.DedupBudget == 0 {
		o.DedupBudget = 1 << 20
	}
	if o.MemoryBytes == 0 {
		o.MemoryBytes = 1 << 30
	}
	s, rep, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	return s, rep
}

// lines returns every stored record, memory and segments, as
// "source|line" strings: segment records come back with the "_source"
// member the table adds last, which is moved back out.
func lines(s *Store) []string {
	v := s.View()
	defer v.Release()
	var out []string
	for _, seg := range v.Snap.Segments {
		err := seg.Scan(0, 1<<62, func(line []byte, _ int64) error {
			l := string(line)
			i := strings.LastIndex(l, `"_source":"`)
			if i < 0 {
				return fmt.Errorf("no _source in %s", l)
			}
			src := strings.TrimSuffix(l[i+len(`"_source":"`):], `"}`)
			l = strings.TrimSuffix(l[:i], ",") + "}"
			out = append(out, src+"|"+l)
			return nil
		})
		if err != nil {
			panic(err)
		}
	}
	for _, r := range v.Mem {
		out = append(out, r.Source+"|"+string(r.Line))
	}
	return out
}

// checkOnce fails unless the store holds every line of want once and
// nothing else.
func checkOnce(t *testing.T, s *Store, want []string) {
	t.Helper()
	got := lines(s)
	seen := map[string]int{}
	for _, l := range got {
		seen[l]++
	}
	for l, n := range seen {
		if n != 1 {
			t.Errorf("%q stored %d times", l, n)
		}
	}
	for _, l := range want {
		if seen[l] != 1 {
			t.Errorf("%q stored %d times, want 1", l, seen[l])
		}
	}
	if len(got) != len(want) {
		t.Errorf("memtable holds %d records, want %d", len(got), len(want))
	}
}

func want(source string, run []byte) []string {
	var out []string
	for _, l := range strings.SplitAfter(string(run), "\n") {
		if l != "" {
			out = append(out, source+"|"+strings.TrimSuffix(l, "\n"))
		}
	}
	return out
}

func TestAcceptRefuses(t *testing.T) {
	leakcheck.Check(t)
	s, _ := open(t, Options{Dir: t.TempDir()})
	defer s.Close()
	if _, err := s.Accept("web1", "1", 0, int64(len(evs(0, 3))), evs(0, 3), false); err != nil {
		t.Fatal(err)
	}
	run := evs(3, 5)
	n := int64(len(run))
	cp, _ := s.Checkpoint("web1", "1")
	for _, tc := range []struct {
		name          string
		source, chunk string
		start, end    int64
		lines         []byte
		complete      bool
		err           error
	}{
		{"empty source", "", "1", cp, cp + n, run, false, ErrSource},
		{"space in source", "web 1", "1", cp, cp + n, run, false, ErrSource},
		{"slash in source", "a/b", "1", cp, cp + n, run, false, ErrSource},
		{"long source", strings.Repeat("w", 65), "1", cp, cp + n, run, false, ErrSource},
		{"empty chunk", "web1", "", cp, cp + n, run, false, ErrChunk},
		{"chunk digit 0", "web1", "0", cp, cp + n, run, false, ErrChunk},
		{"lower-case chunk", "web1", "c", cp, cp + n, run, false, ErrChunk},
		{"long chunk", "web1", strings.Repeat("1", 17), cp, cp + n, run, false, ErrChunk},
		{"no final newline", "web1", "1", cp, cp + n - 1, run[:n-1], false, ErrRun},
		{"length mismatch", "web1", "1", cp, cp + n + 1, run, false, ErrRun},
		{"negative start", "web1", "1", -1, n - 1, run, false, ErrRun},
		{"gap", "web1", "1", cp + 1, cp + 1 + n, run, false, ErrGap},
		{"overlap inside a line", "web1", "1", cp - 3, cp - 3 + n, run, false, ErrRun},
	} {
		_, err := s.Accept(tc.source, tc.chunk, tc.start, tc.end, tc.lines, tc.complete)
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.err)
		}
	}
	if got, _ := s.Checkpoint("web1", "1"); got != cp {
		t.Fatalf("checkpoint moved to %d by refused runs, want %d", got, cp)
	}
	checkOnce(t, s, want("web1", evs(0, 3)))
}

// step is one Accept of a scripted test.
type step struct {
	source, chunk string
	start         int64
	lines         []byte
	complete      bool
	new, dup      int
	err           error
}

func TestExactlyOnce(t *testing.T) {
	a, b, c := evs(0, 10), evs(10, 20), evs(20, 25)
	la, lb := int64(len(a)), int64(len(b))
	ab := append(append([]byte{}, a...), b...)
	for _, tc := range []struct {
		name  string
		steps []step
		want  []string
		cps   map[string]Checkpoint // chunk → checkpoint of source "s"
	}{
		{"same run twice", []step{
			{"s", "1", 0, a, false, 10, 0, nil},
			{"s", "1", 0, a, false, 0, 0, nil},
		}, want("s", a), map[string]Checkpoint{"1": {la, false}}},
		{"overlapping run", []step{
			{"s", "1", 0, a, false, 10, 0, nil},
			{"s", "1", 0, ab, false, 10, 0, nil},
		}, want("s", ab), map[string]Checkpoint{"1": {la + lb, false}}},
		{"overlap then complete", []step{
			{"s", "1", 0, ab, false, 20, 0, nil},
			{"s", "1", la, b, true, 0, 0, nil},
			{"s", "1", 0, ab, true, 0, 0, nil},
			{"s", "1", la + lb, c, false, 0, 0, ErrComplete},
		}, want("s", ab), map[string]Checkpoint{"1": {la + lb, true}}},
		{"same lines under another chunk id", []step{
			{"s", "1", 0, ab, true, 20, 0, nil},
			{"s", "2", 0, b, false, 0, 10, nil},
			{"s", "2", lb, c, false, 5, 0, nil},
		}, want("s", append(append([]byte{}, ab...), c...)), map[string]Checkpoint{"1": {la + lb, true}, "2": {lb + int64(len(c)), false}}},
		{"same lines from another source are other records", []step{
			{"s", "1", 0, a, false, 10, 0, nil},
			{"t", "1", 0, a, false, 10, 0, nil},
		}, append(want("s", a), want("t", a)...), map[string]Checkpoint{"1": {la, false}}},
		{"gap refused", []step{
			{"s", "1", 0, a, false, 10, 0, nil},
			{"s", "1", la + 1, b, false, 0, 0, ErrGap},
		}, want("s", a), map[string]Checkpoint{"1": {la, false}}},
		{"run before the checkpoint", []step{
			{"s", "1", 0, ab, false, 20, 0, nil},
			{"s", "1", 0, a, false, 0, 0, nil},
		}, want("s", ab), map[string]Checkpoint{"1": {la + lb, false}}},
		{"completing an empty chunk", []step{
			{"s", "1", 0, nil, true, 0, 0, nil},
		}, nil, map[string]Checkpoint{"1": {0, true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leakcheck.Check(t)
			dir := t.TempDir()
			s, _ := open(t, Options{Dir: dir})
			for i, st := range tc.steps {
				got, err := s.Accept(st.source, st.chunk, st.start, st.start+int64(len(st.lines)), st.lines, st.complete)
				if !errors.Is(err, st.err) {
					t.Fatalf("step %d: err %v, want %v", i, err, st.err)
				}
				if got.New != st.new || got.Dup != st.dup {
					t.Fatalf("step %d: new %d dup %d, want %d %d", i, got.New, got.Dup, st.new, st.dup)
				}
			}
			check := func(s *Store) {
				t.Helper()
				checkOnce(t, s, tc.want)
				if got := s.Chunks("s"); !mapsEqual(got, tc.cps) {
					t.Fatalf("checkpoints %v, want %v", got, tc.cps)
				}
			}
			check(s)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s, rep := open(t, Options{Dir: dir})
			defer s.Close()
			if rep.Dups != 0 || rep.Corrupt != "" || rep.TornBytes != 0 {
				t.Fatalf("replay: %+v", rep)
			}
			check(s)
		})
	}
}

func mapsEqual(a, b map[string]Checkpoint) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestConcurrent has several sources whose chunks overlap (each chunk holds
// the source's lines from a random start), delivered by many goroutines in
// overlapping runs at once; every line must be stored once.
func TestConcurrent(t *testing.T) {
	leakcheck.Check(t)
	const sources, chunks, perChunk, workers = 4, 3, 300, 6
	dir := t.TempDir()
	s, _ := open(t, Options{Dir: dir, DedupBudget: 200, PartitionWidth: time.Hour})
	type chunk struct {
		source, id string
		data       []byte
	}
	var all []chunk
	var exp []string
	for i := range sources {
		src := fmt.Sprintf("src%d", i)
		exp = append(exp, want(src, evs(0, (chunks-1)*50+perChunk))...)
		for j := range chunks {
			all = append(all, chunk{src, fmt.Sprint(j + 1), evs(j*50, j*50+perChunk)})
		}
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for _, ci := range r.Perm(len(all)) {
				c := all[ci]
				for {
					off, done := s.Checkpoint(c.source, c.id)
					if done {
						break
					}
					// Start up to 3 lines before the checkpoint, on a line
					// boundary, and take a random number of lines.
					start := int(off)
					for k := r.IntN(4); k > 0 && start > 0; k-- {
						start = strings.LastIndexByte(string(c.data[:start-1]), '\n') + 1
					}
					end := start
					for k := 1 + r.IntN(40); k > 0 && end < len(c.data); k-- {
						end += strings.IndexByte(string(c.data[end:]), '\n') + 1
					}
					_, err := s.Accept(c.source, c.id, int64(start), int64(end), c.data[start:end], end == len(c.data))
					if err != nil && !errors.Is(err, ErrGap) {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	checkOnce(t, s, exp)
	s.Close()
	s, _ = open(t, Options{Dir: dir, DedupBudget: 200})
	defer s.Close()
	checkOnce(t, s, exp)
	for _, c := range all {
		if off, done := s.Checkpoint(c.source, c.id); off != int64(len(c.data)) || !done {
			t.Errorf("%s/%s: checkpoint %d %v after reopen, want %d true", c.source, c.id, off, done, len(c.data))
		}
	}
}

// TestEviction de-duplicates with room for a few lines only, so partitions
// are evicted and rebuilt from the memtable all the time.
func TestEviction(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	s, _ := open(t, Options{Dir: dir, DedupBudget: 5, PartitionWidth: time.Hour})
	all := evs(0, 200) // about 29 partitions
	if _, err := s.Accept("s", "1", 0, int64(len(all)), all, true); err != nil {
		t.Fatal(err)
	}
	// The same lines again under other chunk ids, in shuffled runs.
	r := rand.New(rand.NewPCG(1, 2))
	for k, i := range r.Perm(20) {
		run := evs(i*10, i*10+10)
		id := "123456789CDFGHJKLMNPQRTVWXZ"[k+1 : k+2]
		a, err := s.Accept("s", id, 0, int64(len(run)), run, true)
		if err != nil {
			t.Fatal(err)
		}
		if a.New != 0 || a.Dup != 10 {
			t.Fatalf("run %d: %+v, want 10 duplicates", i, a)
		}
	}
	s.mu.Lock()
	resident := s.idx.Len()
	s.mu.Unlock()
	if resident > 10 {
		t.Fatalf("index holds %d identities with a budget of 5", resident)
	}
	more := append(evs(200, 210), evs(0, 2)...)
	if a, err := s.Accept("s", "ZZ", 0, int64(len(more)), more, false); err != nil || a.New != 10 || a.Dup != 2 {
		t.Fatalf("new lines: %+v %v", a, err)
	}
	checkOnce(t, s, want("s", evs(0, 210)))
	s.Close()
	s, _ = open(t, Options{Dir: dir, DedupBudget: 5})
	defer s.Close()
	checkOnce(t, s, want("s", evs(0, 210)))
}

func TestFull(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	first := evs(0, 10)
	limit := int64(len(first)) + 10*recordOverhead + 50 // room for the first run, not two
	s, _ := open(t, Options{Dir: dir, MemoryBytes: limit})
	defer s.Close()
	if _, err := s.Accept("s", "1", 0, int64(len(first)), first, false); err != nil {
		t.Fatal(err)
	}
	second := evs(10, 20)
	n := int64(len(first))
	a, err := s.Accept("s", "1", n, n+int64(len(second)), second, false)
	if !errors.Is(err, ErrFull) {
		t.Fatalf("got %+v %v, want ErrFull", a, err)
	}
	if off, _ := s.Checkpoint("s", "1"); off != n {
		t.Fatalf("checkpoint %d after ErrFull, want %d", off, n)
	}
	// The refusal undid its reservations one by one: the partitions stay
	// resident, with the refused lines gone (no rebuild needed).
	s.mu.Lock()
	for _, line := range bytes.Split(bytes.TrimSuffix(second, []byte("\n")), []byte("\n")) {
		part, _, _, _ := s.partition(line, 0)
		if !s.idx.Resident(part) {
			s.mu.Unlock()
			t.Fatalf("partition %d dropped by the refusal", part)
		}
	}
	resident := s.idx.Len()
	s.mu.Unlock()
	if resident != 10 {
		t.Fatalf("%d identities resident after the refusal, want the first run's 10", resident)
	}
	checkOnce(t, s, want("s", first))
	// Lines already stored cost nothing: a re-fetch under another id passes.
	if a, err := s.Accept("s", "2", 0, n, first, true); err != nil || a.Dup != 10 {
		t.Fatalf("duplicates when full: %+v %v", a, err)
	}
	// The refused lines were released: with room they are accepted.
	s.mu.Lock()
	s.limit = 1 << 20
	s.mu.Unlock()
	if a, err := s.Accept("s", "1", n, n+int64(len(second)), second, false); err != nil || a.New != 10 {
		t.Fatalf("after raising the limit: %+v %v", a, err)
	}
	checkOnce(t, s, want("s", evs(0, 20)))
}

// TestUntimed keeps lines without a usable time_ns once, with their receive
// time, across re-fetches and a reopen.
func TestUntimed(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	s, _ := open(t, Options{Dir: dir})
	run := []byte("plain text\n{\"time\":\"2026-01-01T00:00:00Z\"}\n{\"time_ns\":-1}\n" + ev(1))
	before := time.Now().UnixNano()
	a, err := s.Accept("s", "1", 0, int64(len(run)), run, false)
	if err != nil || a.New != 4 || a.Untimed != 3 {
		t.Fatalf("%+v %v", a, err)
	}
	a, err = s.Accept("s", "2", 0, int64(len(run)), run, false)
	if err != nil || a.New != 0 || a.Dup != 4 || a.Untimed != 3 {
		t.Fatalf("again: %+v %v", a, err)
	}
	times := func(s *Store) []int64 {
		var ts []int64
		s.Scan(func(r Record) bool { ts = append(ts, r.TimeNS); return true })
		return ts
	}
	got := times(s)
	for _, ts := range got[:3] {
		if ts < before {
			t.Fatalf("untimed line got time %d, before it was received (%d)", ts, before)
		}
	}
	if got[3] != hour/7 {
		t.Fatalf("timed line got %d", got[3])
	}
	if st := s.Stats(); st.Untimed != 3 {
		t.Fatalf("stats %+v", st)
	}
	s.Close()
	s, _ = open(t, Options{Dir: dir})
	defer s.Close()
	if again := times(s); !slices.Equal(again, got) {
		t.Fatalf("times after reopen %v, want %v", again, got)
	}
	if st := s.Stats(); st.Untimed != 3 {
		t.Fatalf("stats after reopen %+v", st)
	}
	checkOnce(t, s, want("s", run))
}

// TestLongRun cuts a run longer than one log record into several.
func TestLongRun(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	s, _ := open(t, Options{Dir: dir})
	line := `{"time_ns":1,"pad":"` + strings.Repeat("x", 100_000) + `"}` + "\n"
	var run []byte
	for i := range 45 {
		run = append(run, strings.Replace(line, `"pad"`, fmt.Sprintf(`"p%d"`, i), 1)...)
	}
	a, err := s.Accept("s", "1", 0, int64(len(run)), run, true)
	if err != nil || a.New != 45 || a.Now != (Checkpoint{int64(len(run)), true}) {
		t.Fatalf("%+v %v", a, err)
	}
	huge := []byte(`{"x":"` + strings.Repeat("y", maxBatchLines) + "\"}\n")
	if _, err := s.Accept("s", "2", 0, int64(len(huge)), huge, false); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("huge line: %v", err)
	}
	s.Close()
	s, rep := open(t, Options{Dir: dir})
	defer s.Close()
	if rep.Batches < 3 {
		t.Fatalf("%d batches, want the run cut in at least 3", rep.Batches)
	}
	checkOnce(t, s, want("s", run))
}

// walFiles returns the log files of a store directory, oldest first.
func walFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "wal", "*.wal"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no log files: %v", err)
	}
	slices.Sort(m)
	return m
}

// TestCrash abandons a store without Close, as kill -9 does, reopens it, and
// then tears the last record: every acknowledged run must survive the first,
// and only the torn record may be lost to the second.
func TestCrash(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	s, _ := open(t, Options{Dir: dir})
	var off int64
	for i := range 20 {
		run := evs(i*5, i*5+5)
		if _, err := s.Accept("s", "1", off, off+int64(len(run)), run, false); err != nil {
			t.Fatal(err)
		}
		off += int64(len(run))
	}
	// No Close: what Accept acknowledged is on disk already.
	s2, rep := open(t, Options{Dir: dir})
	if rep.TornBytes != 0 || rep.Corrupt != "" || rep.Batches != 20 {
		t.Fatalf("replay %+v", rep)
	}
	if got, _ := s2.Checkpoint("s", "1"); got != off {
		t.Fatalf("checkpoint %d, want %d", got, off)
	}
	if got := lines(s2); !slices.Equal(got, want("s", evs(0, 100))) {
		t.Fatalf("replayed memtable is not in acceptance order")
	}
	s.Close() // the abandoned store's log goroutine
	s2.Close()

	// Tear the last record of the newest file that holds one.
	files := walFiles(t, dir)
	var last string
	for _, f := range files {
		if fi, _ := os.Stat(f); fi.Size() > 12 {
			last = f
		}
	}
	fi, _ := os.Stat(last)
	if err := os.Truncate(last, fi.Size()-3); err != nil {
		t.Fatal(err)
	}
	// The torn file must be the newest for a torn tail: drop later, empty ones.
	for _, f := range files {
		if f > last {
			os.Remove(f)
		}
	}
	s3, rep := open(t, Options{Dir: dir})
	defer s3.Close()
	if rep.TornBytes == 0 || rep.Corrupt != "" || rep.Batches != 19 {
		t.Fatalf("replay after tearing %+v", rep)
	}
	lastRun := int64(len(evs(95, 100)))
	if got, _ := s3.Checkpoint("s", "1"); got != off-lastRun {
		t.Fatalf("checkpoint %d after tearing, want %d", got, off-lastRun)
	}
	checkOnce(t, s3, want("s", evs(0, 95)))
	// The store fetches again from its checkpoint.
	run := evs(90, 100)
	from := off - int64(len(run))
	if a, err := s3.Accept("s", "1", from, off, run, false); err != nil || a.New != 5 {
		t.Fatalf("re-fetch: %+v %v", a, err)
	}
	checkOnce(t, s3, want("s", evs(0, 100)))
}

// TestCorruptRecord logs a record that passes the log's checksum but does not
// decode: Open applies what came before, reports it, and records logged after
// it survive the next Open.
func TestCorruptRecord(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	s, _ := open(t, Options{Dir: dir})
	a := evs(0, 5)
	if _, err := s.Accept("s", "1", 0, int64(len(a)), a, false); err != nil {
		t.Fatal(err)
	}
	s.Close()
	l, err := wal.Open(filepath.Join(dir, "wal"), wal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := evs(5, 10)
	good := appendBatch(nil, &batch{source: "s", chunk: "1", end: int64(len(a) + len(b)), count: 5, lines: b})
	for _, p := range [][]byte{{9, 9, 9}, good} {
		if _, err := l.Append(p); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()

	s, rep := open(t, Options{Dir: dir})
	if rep.Corrupt == "" || rep.Batches != 1 {
		t.Fatalf("replay %+v, want corruption after 1 batch", rep)
	}
	checkOnce(t, s, want("s", a))
	if off, _ := s.Checkpoint("s", "1"); off != int64(len(a)) {
		t.Fatalf("checkpoint %d", off)
	}
	if _, err := s.Accept("s", "1", int64(len(a)), int64(len(a)+len(b)), b, true); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, rep = open(t, Options{Dir: dir})
	defer s.Close()
	if rep.Corrupt != "" {
		t.Fatalf("corruption reported again: %+v", rep)
	}
	checkOnce(t, s, want("s", evs(0, 10)))
	if off, done := s.Checkpoint("s", "1"); off != int64(len(a)+len(b)) || !done {
		t.Fatalf("checkpoint %d %v", off, done)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "wal.corrupt-*")); len(m) != 1 {
		t.Fatalf("damaged log not kept aside: %v", m)
	}
}

func TestClosed(t *testing.T) {
	leakcheck.Check(t)
	s, _ := open(t, Options{Dir: t.TempDir()})
	s.Close()
	run := evs(0, 1)
	if _, err := s.Accept("s", "1", 0, int64(len(run)), run, false); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// TestReservationReleased has a run find a line reserved by another run that
// then fails: it must store the line itself rather than skip it.
func TestReservationReleased(t *testing.T) {
	leakcheck.Check(t)
	s, _ := open(t, Options{Dir: t.TempDir()})
	defer s.Close()
	l := []byte(ev(3))
	part, ts, _, _ := s.partition(l[:len(l)-1], 0)
	tk, err := s.reserve([]item{{line: l[:len(l)-1], part: part, t: ts, key: keyOf("s", l)}})
	if err != nil || tk.fresh != 1 {
		t.Fatalf("reserve: %v %+v", err, tk)
	}
	type result struct {
		a   Accepted
		err error
	}
	done := make(chan result)
	run := evs(0, 5)
	go func() {
		a, err := s.Accept("s", "2", 0, int64(len(run)), run, false)
		done <- result{a, err}
	}()
	select {
	case r := <-done:
		t.Fatalf("Accept returned %+v while a line of it was reserved by a run not yet logged", r)
	default:
	}
	s.mu.Lock()
	s.memHeld -= tk.size
	s.releaseLocked(tk)
	s.mu.Unlock()
	r := <-done
	if r.err != nil || r.a.New != 5 {
		t.Fatalf("%+v %v, want all 5 lines stored", r.a, r.err)
	}
	checkOnce(t, s, want("s", run))
}

// TestAppendFails stops the store when the log refuses a record: nothing of
// the run is visible and every later Accept fails.
func TestAppendFails(t *testing.T) {
	leakcheck.Check(t)
	s, _ := open(t, Options{Dir: t.TempDir()})
	run := evs(0, 5)
	if _, err := s.Accept("s", "1", 0, int64(len(run)), run, false); err != nil {
		t.Fatal(err)
	}
	s.log.Close()
	more := evs(5, 10)
	n := int64(len(run))
	if _, err := s.Accept("s", "1", n, n+int64(len(more)), more, false); err == nil {
		t.Fatal("Accept succeeded with the log closed")
	}
	if _, err := s.Accept("s", "2", 0, int64(len(more)), more, false); !errors.Is(err, ErrClosed) {
		t.Fatalf("after a failed append: %v", err)
	}
	if off, _ := s.Checkpoint("s", "1"); off != n {
		t.Fatalf("checkpoint %d, want %d", off, n)
	}
	s.mu.Lock()
	pending, held := len(s.inflight), s.memHeld
	s.mu.Unlock()
	if pending != 0 || held != 0 {
		t.Fatalf("%d reservations and %d bytes still held", pending, held)
	}
	checkOnce(t, s, want("s", run))
}

func keyOf(source string, line []byte) dedup.Key { return dedup.KeyOf(source, line) }

// TestRebuildInterrupted finds the log moved aside and the new one not yet
// in place, as a crash between quarantine's renames leaves them.
func TestRebuildInterrupted(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	s, _ := open(t, Options{Dir: dir})
	run := evs(0, 5)
	if _, err := s.Accept("s", "1", 0, int64(len(run)), run, false); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.Rename(filepath.Join(dir, "wal"), filepath.Join(dir, "wal.rebuild")); err != nil {
		t.Fatal(err)
	}
	s, rep := open(t, Options{Dir: dir})
	defer s.Close()
	if rep.Batches != 1 {
		t.Fatalf("replay %+v", rep)
	}
	checkOnce(t, s, want("s", run))
}
