package ingest

import (
	"os"
	"sync"
	"testing"
)

// TestFlush moves records to segments and checks that they are stored once
// before and after a reopen, that the log shrinks, and that the same lines
// under another chunk id, or again from 0, are duplicates even once their
// partitions are rebuilt from segments.
func TestFlush(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, Options{Dir: dir})
	data := evs(0, 500)
	if _, err := s.Accept("s1", "1", 0, int64(len(data)), data, true); err != nil {
		t.Fatal(err)
	}
	f, err := s.Flush()
	if err != nil {
		t.Fatal(err)
	}
	if f.Records != 500 || len(f.Segments) == 0 {
		t.Fatalf("flushed %+v", f)
	}
	v := s.View()
	if len(v.Mem) != 0 {
		t.Fatalf("%d records still in memory after a flush", len(v.Mem))
	}
	v.Release()
	exp := want("s1", data)
	checkOnce(t, s, exp)
	if n := len(walFiles(t, dir)); n != 1 {
		t.Fatalf("%d log files after a flush, want the one being appended to", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A small budget forces partitions out, so they are rebuilt from segments.
	s, rep := open(t, Options{Dir: dir, DedupBudget: 10})
	defer s.Close()
	if rep.Lines != 0 {
		t.Fatalf("replayed %d lines that are in segments", rep.Lines)
	}
	if off, done := s.Checkpoint("s1", "1"); off != int64(len(data)) || !done {
		t.Fatalf("checkpoint after reopen: %d %v", off, done)
	}
	a, err := s.Accept("s1", "2", 0, int64(len(data)), data, true)
	if err != nil {
		t.Fatal(err)
	}
	if a.New != 0 || a.Dup != 500 {
		t.Fatalf("same lines under another chunk: %+v", a)
	}
	a, err = s.Accept("s2", "1", 0, int64(len(data)), data, true)
	if err != nil || a.New != 500 {
		t.Fatalf("same lines from another source: %+v %v", a, err)
	}
	checkOnce(t, s, append(exp, want("s2", data)...))
}

// TestFlushConcurrent flushes while many runs are accepted, and checks that
// every line is stored once, in memory or segments, and after a reopen.
func TestFlushConcurrent(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, Options{Dir: dir})
	data := evs(0, 3000)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var exp []string
	for _, src := range []string{"a", "b", "c"} {
		exp = append(exp, want(src, data)...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for off := 0; off < len(data); {
				end := off
				for k := 0; k < 7 && end < len(data); k++ {
					end += indexNL(data[end:]) + 1
				}
				if _, err := s.Accept(src, "1", int64(off), int64(end), data[off:end], false); err != nil {
					t.Error(err)
					return
				}
				off = end
			}
		}()
	}
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.Flush(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-flushed
	checkOnce(t, s, exp)
	s.Close()
	s, _ = open(t, Options{Dir: dir})
	defer s.Close()
	checkOnce(t, s, exp)
}

func indexNL(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return len(b)
}

// TestLeftoverSegment: a segment written before a crash that kept its
// manifest from being written is deleted, and its records come back from
// the log, once.
func TestLeftoverSegment(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, Options{Dir: dir})
	data := evs(0, 100)
	if _, err := s.Accept("s1", "1", 0, int64(len(data)), data, false); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	mem := frozen{mem: s.mem.snapshot()}
	s.mu.Unlock()
	segs, _, err := s.writeSegments([]frozen{mem})
	if err != nil || len(segs) == 0 {
		t.Fatal(segs, err)
	}
	s.Close()
	s, rep := open(t, Options{Dir: dir})
	defer s.Close()
	if rep.Lines != 100 {
		t.Fatalf("replayed %d lines", rep.Lines)
	}
	for _, sg := range segs {
		if _, err := os.Stat(sg.Path()); !os.IsNotExist(err) {
			t.Fatalf("leftover segment %s kept", sg.Path())
		}
	}
	checkOnce(t, s, want("s1", data))
}

// TestForget drops the checkpoints of chunks before an id, and keeps them
// dropped after a flush and a reopen.
func TestForget(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, Options{Dir: dir})
	for i, id := range []string{"1111", "1112", "1113"} {
		run := evs(i*10, i*10+10)
		if _, err := s.Accept("s1", id, 0, int64(len(run)), run, i < 2); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Forget("s1", "1113"); n != 2 {
		t.Fatalf("forgot %d chunks, want 2", n)
	}
	if _, err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, _ = open(t, Options{Dir: dir})
	defer s.Close()
	got := s.Chunks("s1")
	if len(got) != 1 || got["1113"].Offset == 0 {
		t.Fatalf("checkpoints after reopen: %v", got)
	}
}

// TestNoRebuildsWhileResident: runs that go back and forth between two
// partitions that fit the budget read their segments once, not per run.
func TestNoRebuildsWhileResident(t *testing.T) {
	dir := t.TempDir()
	data := evs(0, 400) // time_ns spread over hours: many 5 s partitions
	s, _ := open(t, Options{Dir: dir})
	if _, err := s.Accept("s1", "1", 0, int64(len(data)), data, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, _ = open(t, Options{Dir: dir, DedupBudget: 1000})
	defer s.Close()
	a, b := []byte(ev(10)), []byte(ev(300)) // stored, in two partitions
	var afterFirst int64
	for round := range 20 {
		run := a
		if round%2 == 1 {
			run = b
		}
		got, err := s.Accept("s1", "Z"+string("123456789CDFGHJKLMNPQRTVWXZ"[round]), 0, int64(len(run)), run, true)
		if err != nil || got.Dup != 1 {
			t.Fatalf("round %d: %+v %v", round, got, err)
		}
		if round == 1 {
			afterFirst = s.Stats().Rebuilds
		}
	}
	if afterFirst == 0 || s.Stats().Rebuilds != afterFirst {
		t.Fatalf("segment reads: %d after the first two runs, %d after 20", afterFirst, s.Stats().Rebuilds)
	}
}
