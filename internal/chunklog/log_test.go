package chunklog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"stele/internal/leakcheck"
)

// fakeClock lets tests move the wall clock and the monotonic clock apart.
type fakeClock struct {
	mu   sync.Mutex
	wall time.Time
	mono time.Duration
	free uint64
}

func newFakeClock() *fakeClock {
	return &fakeClock{wall: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), free: 1 << 40}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wall
}

func (c *fakeClock) Mono() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mono
}

func (c *fakeClock) Free() (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.free, nil
}

// advance moves both clocks, as real time passing does.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wall = c.wall.Add(d)
	c.mono += d
}

// jump moves only the wall clock, as an operator or NTP step does.
func (c *fakeClock) jump(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wall = c.wall.Add(d)
}

func (c *fakeClock) setFree(n uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.free = n
}

func testOptions(dir string, c *fakeClock) Options {
	return Options{
		Dir:           dir,
		ChunkBytes:    MinChunkBytes,
		FsyncInterval: time.Hour,
		Now:           c.Now,
		Mono:          c.Mono,
		FreeBytes:     c.Free,
	}
}

func mustOpen(t *testing.T, o Options) *Log {
	t.Helper()
	l, err := Open(o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

func appLine(i int) []byte {
	return fmt.Appendf(nil, `{"time_ns":%d,"msg":"event number %d with some padding"}`+"\n", 1000+i, i)
}

// readAll concatenates every chunk on disk, oldest first.
func readAll(t *testing.T, l *Log) []byte {
	t.Helper()
	var all []byte
	for _, c := range l.List() {
		b, err := os.ReadFile(filepath.Join(l.Dir(), c.ID))
		if err != nil {
			t.Fatalf("read %s: %v", c.ID, err)
		}
		if int64(len(b)) != c.Size {
			t.Fatalf("chunk %s: %d bytes on disk, Info says %d", c.ID, len(b), c.Size)
		}
		all = append(all, b...)
	}
	return all
}

// appLines returns the application lines (not the log's own events) in data.
func appLines(data []byte) []string {
	var out []string
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if strings.Contains(l, `"msg":"event number`) {
			out = append(out, l)
		}
	}
	return out
}

// ownEvents returns the log's own events named name.
func ownEvents(t *testing.T, data []byte, name string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range bytes.Split(data, []byte{'\n'}) {
		if len(l) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("invalid line %q: %v", l, err)
		}
		if m["_event"] == name {
			out = append(out, m)
		}
	}
	return out
}

func TestAppendRotatesBySizeAndKeepsEveryLine(t *testing.T) {
	c := newFakeClock()
	l := mustOpen(t, testOptions(t.TempDir(), c))
	defer l.Close()
	var want []string
	for i := range 500 {
		line := appLine(i)
		want = append(want, string(line))
		if err := l.Append(line); err != nil {
			t.Fatal(err)
		}
		c.advance(time.Microsecond)
	}
	chunks := l.List()
	if len(chunks) < 5 {
		t.Fatalf("expected rotation by size, got %d chunks", len(chunks))
	}
	for i, ci := range chunks {
		if ci.Size >= MinChunkBytes {
			t.Errorf("chunk %s has %d bytes, limit %d", ci.ID, ci.Size, MinChunkBytes)
		}
		if i > 0 && chunks[i-1].ID >= ci.ID {
			t.Errorf("ids not increasing: %s then %s", chunks[i-1].ID, ci.ID)
		}
		if !ValidID(ci.ID) {
			t.Errorf("invalid id %q", ci.ID)
		}
		if ci.Closed != (i < len(chunks)-1) {
			t.Errorf("chunk %d of %d: closed=%v", i, len(chunks), ci.Closed)
		}
	}
	got := appLines(readAll(t, l))
	if strings.Join(got, "") != strings.Join(want, "") {
		t.Fatalf("lines differ: got %d lines, want %d", len(got), len(want))
	}
	closedEvents := ownEvents(t, readAll(t, l), "chunk_closed")
	if len(closedEvents) != len(chunks)-1 {
		t.Errorf("%d chunk_closed events for %d closed chunks", len(closedEvents), len(chunks)-1)
	}
	for _, e := range closedEvents {
		if e["reason"] != "bytes" {
			t.Errorf("close reason %v, want bytes", e["reason"])
		}
	}
	// Once closed, every chunk has been made durable with its .sum.
	l.Close()
	for _, ci := range chunks {
		if _, err := os.Stat(filepath.Join(l.Dir(), ci.ID+".sum")); err != nil {
			t.Errorf("chunk %s has no .sum after Close: %v", ci.ID, err)
		}
	}
}

func TestAppendRejectsPartialLines(t *testing.T) {
	l := mustOpen(t, testOptions(t.TempDir(), newFakeClock()))
	defer l.Close()
	if err := l.Append([]byte(`{"time_ns":1}`)); err != ErrNotLines {
		t.Fatalf("got %v, want ErrNotLines", err)
	}
}

func TestLargeRecordGetsItsOwnChunk(t *testing.T) {
	l := mustOpen(t, testOptions(t.TempDir(), newFakeClock()))
	defer l.Close()
	big := []byte(`{"time_ns":1,"blob":"` + strings.Repeat("x", 3*MinChunkBytes) + `"}` + "\n")
	for _, p := range [][]byte{appLine(1), big, appLine(2)} {
		if err := l.Append(p); err != nil {
			t.Fatal(err)
		}
	}
	found := false
	for _, ci := range l.List() {
		b, _ := os.ReadFile(filepath.Join(l.Dir(), ci.ID))
		if !bytes.Contains(b, big) {
			continue
		}
		found = true
		// Only the log's own events may share the chunk.
		if rest := bytes.Replace(b, big, nil, 1); len(appLines(rest)) != 0 {
			t.Fatalf("big record shares chunk %s with application lines", ci.ID)
		}
	}
	if !found {
		t.Fatalf("big record not found whole in a chunk: %+v", l.List())
	}
	if !bytes.Contains(readAll(t, l), big) {
		t.Fatal("big record not kept whole")
	}
	huge := append(bytes.Repeat([]byte("y"), MaxRecordBytes), '\n')
	if err := l.Append(huge); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("record over MaxRecordBytes: %v, want ErrRecordTooLarge", err)
	}
}

func TestRotationByAge(t *testing.T) {
	c := newFakeClock()
	o := testOptions(t.TempDir(), c)
	o.ChunkBytes = MaxChunkBytes
	o.ChunkAge = 10 * time.Minute
	l := mustOpen(t, o)
	defer l.Close()
	l.Append(appLine(1))
	c.advance(9 * time.Minute)
	l.housekeep()
	if n := len(l.List()); n != 1 {
		t.Fatalf("rotated before the chunk age: %d chunks", n)
	}
	c.advance(time.Minute)
	l.housekeep()
	chunks := l.List()
	if len(chunks) != 2 || !chunks[0].Closed {
		t.Fatalf("not rotated at the chunk age: %+v", chunks)
	}
	if ev := ownEvents(t, readAll(t, l), "chunk_closed"); len(ev) != 1 || ev[0]["reason"] != "age" {
		t.Fatalf("chunk_closed events: %v", ev)
	}
	// An empty latest chunk is not rotated, however old.
	c.advance(time.Hour)
	before := len(l.List())
	l.housekeep()
	l.housekeep()
	if after := len(l.List()); after > before+1 {
		t.Fatalf("empty chunks rotated: %d -> %d", before, after)
	}
}

func TestRetentionByAgeIgnoresWallClockJumps(t *testing.T) {
	c := newFakeClock()
	o := testOptions(t.TempDir(), c)
	o.MaxAge = 24 * time.Hour
	l := mustOpen(t, o)
	defer l.Close()
	for i := range 200 {
		l.Append(appLine(i))
	}
	closedBefore := len(l.List()) - 1
	if closedBefore < 2 {
		t.Fatalf("need several closed chunks, have %d", closedBefore)
	}
	lastID := l.List()[len(l.List())-1].ID
	for _, j := range []time.Duration{24 * time.Hour, -48 * time.Hour, 24 * time.Hour} {
		c.jump(j)
		l.housekeep()
		if err := l.Append(appLine(999)); err != nil {
			t.Fatal(err)
		}
		if ids := listIDs(l); !slices.IsSorted(ids) {
			t.Fatalf("list out of order: %v", ids)
		}
		if got := len(l.List()) - 1; got < closedBefore {
			t.Fatalf("wall jump of %v discarded chunks: %d closed, had %d", j, got, closedBefore)
		}
		// Force a rotation: the new id must still be later.
		for i := range 60 {
			l.Append(appLine(i))
		}
		latest := l.List()[len(l.List())-1].ID
		if latest <= lastID {
			t.Fatalf("after wall jump %v id %s is not after %s", j, latest, lastID)
		}
		lastID = latest
	}
	old := l.List()
	c.advance(25 * time.Hour)
	l.housekeep()
	for _, ci := range l.List() {
		if ci.ID <= old[len(old)-2].ID {
			t.Fatalf("chunk %s closed over max age ago is still there", ci.ID)
		}
	}
	ev := ownEvents(t, readAll(t, l), "chunk_discarded")
	if len(ev) == 0 || ev[0]["reason"] != "max-age" {
		t.Fatalf("discard events: %v", ev)
	}
}

func TestRetentionByBytes(t *testing.T) {
	c := newFakeClock()
	o := testOptions(t.TempDir(), c)
	o.MaxBytes = 5 * MinChunkBytes
	l := mustOpen(t, o)
	defer l.Close()
	var last []byte
	for i := range 2000 {
		last = appLine(i)
		l.Append(last)
	}
	l.housekeep()
	var total int64
	for _, ci := range l.List() {
		total += ci.Size
	}
	if total > o.MaxBytes {
		t.Fatalf("total %d exceeds max %d", total, o.MaxBytes)
	}
	data := readAll(t, l)
	if !bytes.Contains(data, last) {
		t.Fatal("newest line discarded")
	}
	discarded := ownEvents(t, data, "chunk_discarded")
	if len(discarded) == 0 || discarded[len(discarded)-1]["reason"] != "max-bytes" {
		t.Fatalf("discard events: %v", discarded)
	}
	// Discarded chunks are gone from disk, with their .sum, once the
	// background closer (which may still be writing the .sum of a chunk
	// discarded meanwhile) is done.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, ev := range discarded {
		id, _ := ev["id"].(string)
		for _, name := range []string{id, id + ".sum"} {
			if _, err := os.Stat(filepath.Join(o.Dir, name)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("discarded %s: %v", name, err)
			}
		}
	}
	entries, _ := os.ReadDir(o.Dir)
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".sum"); ok {
			if _, err := os.Stat(filepath.Join(o.Dir, id)); err != nil {
				t.Errorf("orphan %s", e.Name())
			}
		}
	}
}

func TestRetentionOnFullDisk(t *testing.T) {
	c := newFakeClock()
	l := mustOpen(t, testOptions(t.TempDir(), c))
	defer l.Close()
	for i := range 300 {
		l.Append(appLine(i))
	}
	before := l.List()
	short := int64(2*MinChunkBytes + 1)
	c.setFree(uint64(minFreeBytes - short))
	l.housekeep()
	after := l.List()
	var freed int64
	n := len(before) - len(after)
	for _, ci := range before[:n] {
		freed += ci.Size
	}
	// The oldest go first, and no more than the shortfall asks.
	if freed < short || freed-before[n-1].Size >= short {
		t.Fatalf("discarded %d chunks (%d bytes) for a shortfall of %d", n, freed, short)
	}
	if after[0].ID != before[n].ID {
		t.Fatalf("not the oldest discarded: first left %s, want %s", after[0].ID, before[n].ID)
	}
	if ev := ownEvents(t, readAll(t, l), "chunk_discarded"); len(ev) != n || ev[0]["reason"] != "disk-full" {
		t.Fatalf("discard events: %v", ev)
	}
	// With room again, nothing more goes.
	c.setFree(1 << 40)
	l.housekeep()
	if got := len(l.List()); got < len(after) {
		t.Fatalf("discarded with free disk: %d -> %d chunks", len(after), got)
	}
}

func TestReopenClosesLatestAndKeepsIDsIncreasing(t *testing.T) {
	c := newFakeClock()
	o := testOptions(t.TempDir(), c)
	var want []string
	var ids []string
	for run := range 5 {
		l := mustOpen(t, o)
		for i := range 30 {
			line := appLine(run*100 + i)
			want = append(want, string(line))
			if err := l.Append(line); err != nil {
				t.Fatal(err)
			}
		}
		for _, ci := range l.List() {
			if len(ids) == 0 || ci.ID > ids[len(ids)-1] {
				ids = append(ids, ci.ID)
			}
		}
		// Alternate clean closes with abandoned logs (as after kill -9);
		// the wall clock also steps back each run.
		if run%2 == 0 {
			l.Close()
		} else {
			l.closeFiles()
			l.stopLoops()
		}
		c.jump(-time.Hour)
	}
	l := mustOpen(t, o)
	defer l.Close()
	got := appLines(readAll(t, l))
	if strings.Join(got, "") != strings.Join(want, "") {
		t.Fatalf("lost lines across reopen: got %d want %d", len(got), len(want))
	}
	latest := l.List()[len(l.List())-1].ID
	if latest <= ids[len(ids)-1] {
		t.Fatalf("latest id %s not after %s", latest, ids[len(ids)-1])
	}
	for _, ci := range l.List()[:len(l.List())-1] {
		if !ci.Closed {
			t.Fatalf("chunk %s not closed after reopen", ci.ID)
		}
	}
}

func TestSecondOpenIsRefused(t *testing.T) {
	o := testOptions(t.TempDir(), newFakeClock())
	l := mustOpen(t, o)
	defer l.Close()
	if _, err := Open(o); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open: %v", err)
	}
}

func listIDs(l *Log) []string {
	var ids []string
	for _, ci := range l.List() {
		ids = append(ids, ci.ID)
	}
	return ids
}

func TestChunksStayUnderChunkBytesWithOwnEvents(t *testing.T) {
	c := newFakeClock()
	o := testOptions(t.TempDir(), c)
	for run := range 3 {
		l := mustOpen(t, o)
		// Fill chunks to the brim, then close: the shutdown event goes in.
		for i := range 200 + run {
			l.Append(appLine(i))
		}
		l.Close()
	}
	entries, _ := os.ReadDir(o.Dir)
	for _, e := range entries {
		if _, err := parseID(e.Name()); err != nil {
			continue
		}
		fi, _ := e.Info()
		if fi.Size() >= o.ChunkBytes {
			t.Errorf("chunk %s has %d bytes, limit %d", e.Name(), fi.Size(), o.ChunkBytes)
		}
	}
}

func TestIDsNeverReusedAfterEmptyLatestAndClockStepBack(t *testing.T) {
	c := newFakeClock()
	o := testOptions(t.TempDir(), c)
	l := mustOpen(t, o)
	seen := l.List()[0].ID // the latest chunk, empty: Close deletes it
	l.Close()
	c.jump(-time.Hour)
	l = mustOpen(t, o)
	defer l.Close()
	if id := l.List()[0].ID; id <= seen {
		t.Fatalf("id %s issued after %s was listed", id, seen)
	}
}

func TestIDRoundTripAndOrder(t *testing.T) {
	prev := ""
	for _, n := range []uint64{0, 1, 26, 27, 1 << 40, uint64(time.Now().UnixMicro()), 150094635296999120} {
		s := formatID(n)
		if !ValidID(s) {
			t.Fatalf("formatID(%d) = %q invalid", n, s)
		}
		back, err := parseID(s)
		if err != nil || back != n {
			t.Fatalf("parseID(%q) = %d, %v; want %d", s, back, err, n)
		}
		if s <= prev {
			t.Fatalf("%q sorts before %q", s, prev)
		}
		prev = s
	}
	for _, bad := range []string{"", "0", "A", "12345678901234567", "../x", "1 2", "abc"} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

func TestConcurrentAppendsHousekeepingAndClose(t *testing.T) {
	c := newFakeClock()
	o := testOptions(t.TempDir(), c)
	o.FsyncInterval = time.Millisecond
	o.ChunkAge = time.Nanosecond
	l := mustOpen(t, o)
	var wg sync.WaitGroup
	var want [4][]string
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 400 {
				line := fmt.Appendf(nil, `{"time_ns":%d,"msg":"event number %d from %d"}`+"\n", i, i, w)
				if err := l.Append(line); err != nil {
					t.Error(err)
					return
				}
				want[w] = append(want[w], string(line))
			}
		}()
	}
	stop := make(chan struct{})
	hk := make(chan struct{})
	go func() {
		defer close(hk)
		for {
			select {
			case <-stop:
				return
			default:
				c.advance(time.Millisecond)
				l.housekeep()
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-hk
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// Every chunk file on disk is one the log knew, closed with its .sum,
	// and every line is there once.
	listed := map[string]bool{}
	for _, ci := range l.List() {
		listed[ci.ID] = true
	}
	for _, id := range chunkIDs(t, o.Dir) {
		if !listed[id] {
			t.Errorf("chunk %s on disk but not listed", id)
		}
		if _, err := os.Stat(filepath.Join(o.Dir, id+".sum")); err != nil {
			t.Errorf("chunk %s has no .sum after Close", id)
		}
	}
	got := appLines(readAll(t, l))
	if n := len(want[0]) + len(want[1]) + len(want[2]) + len(want[3]); len(got) != n {
		t.Fatalf("%d lines in the log, %d appended", len(got), n)
	}
}

func TestCloseReleasesEverything(t *testing.T) {
	leakcheck.Check(t)
	o := testOptions(t.TempDir(), newFakeClock())
	o.FsyncInterval = time.Millisecond
	l := mustOpen(t, o)
	for i := range 300 {
		l.Append(appLine(i))
	}
	_ = l.Changed()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestIDTime(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 123_456_000, time.UTC)
	id := formatID(uint64(at.UnixMicro()))
	if got, ok := IDTime(id); !ok || !got.Equal(at) {
		t.Fatalf("IDTime(%s) = %v, %v; want %v", id, got, ok, at)
	}
	if _, ok := IDTime("1"); ok {
		t.Fatal("IDTime accepted an id of the wrong length")
	}
}

// TestIDsNeverReusedWhenNewestChunksVanish: a power loss can lose the
// directory entries of chunks created since the last fsync; the ids they
// had (which a store may have seen) are never issued again, even with the
// wall clock stepped back. Rotations within one reservation do not rewrite
// the lock file.
func TestIDsNeverReusedWhenNewestChunksVanish(t *testing.T) {
	c := newFakeClock()
	o := testOptions(t.TempDir(), c)
	l := mustOpen(t, o)
	lock0, err := os.ReadFile(filepath.Join(o.Dir, "lock"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if err := l.Append(appLine(i)); err != nil {
			t.Fatal(err)
		}
	}
	ids := listIDs(l)
	if len(ids) < 4 {
		t.Fatalf("only %d chunks", len(ids))
	}
	if lock1, _ := os.ReadFile(filepath.Join(o.Dir, "lock")); !bytes.Equal(lock1, lock0) {
		t.Fatalf("lock file rewritten within one reservation: %q then %q", lock0, lock1)
	}
	newest := ids[len(ids)-1]
	l.closeFiles()
	l.stopLoops()
	// Lose the three newest chunks, as if their creation never reached the
	// disk, and step the clock back.
	for _, id := range ids[len(ids)-3:] {
		os.Remove(filepath.Join(o.Dir, id))
		os.Remove(filepath.Join(o.Dir, id+".sum"))
	}
	c.jump(-24 * time.Hour)
	l = mustOpen(t, o)
	defer l.Close()
	if id := listIDs(l)[len(listIDs(l))-1]; id <= newest {
		t.Fatalf("id %s issued after %s had been used", id, newest)
	}
	// Once ids pass the reservation, it is renewed.
	c.advance(2 * idReserve)
	for i := range 300 {
		if err := l.Append(appLine(i)); err != nil {
			t.Fatal(err)
		}
	}
	lock2, _ := os.ReadFile(filepath.Join(o.Dir, "lock"))
	r, err := parseID(string(lock2))
	if err != nil {
		t.Fatalf("lock file %q: %v", lock2, err)
	}
	ids = listIDs(l)
	if last, _ := parseID(ids[len(ids)-1]); last > r {
		t.Fatalf("id %s issued beyond the reservation %s", ids[len(ids)-1], lock2)
	}
}
