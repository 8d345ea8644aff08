package ownevents

import (
	"strings"
	"testing"
	"time"

	"stele/internal/event"
	"stele/internal/ingest"
	"stele/internal/leakcheck"
	"stele/internal/sources"
)

func openStore(t *testing.T, dir string, mem int64) *ingest.Store {
	t.Helper()
	s, _, err := ingest.Open(ingest.Options{Dir: dir, DedupBudget: 1 << 16, MemoryBytes: mem})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ownLines returns the store's own events in the store.
func ownLines(s *ingest.Store) []string {
	v := s.View()
	defer v.Release()
	var out []string
	for _, r := range v.Mem {
		if r.Source == sources.ReservedName {
			out = append(out, string(r.Line))
		}
	}
	return out
}

func TestEventsAreStoredAndChunksNeverReused(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	s := openStore(t, dir, 1<<30)
	r := Start(s, nil)
	r.Event("segment_written", func(b *event.Builder) { b.Int("bytes", 42) })
	r.Line([]byte(`{"time_ns":5,"_event":"chunk_done","source":"web1"}` + "\n"))
	r.Line([]byte(`no newline`)) // refused: counted as dropped
	first := r.Chunk()
	r.Close()
	got := ownLines(s)
	if len(got) != 3 || !strings.Contains(got[0], `"_event":"segment_written","bytes":42`) ||
		!strings.Contains(got[1], `"source":"web1"`) || !strings.Contains(got[2], `"_event":"events_dropped","count":1`) {
		t.Fatalf("own events: %q", got)
	}
	s.Close()

	// A restart writes to a new chunk after the old one, even with the
	// clock set back an hour.
	s = openStore(t, dir, 1<<30)
	defer s.Close()
	r = Start(s, func() time.Time { return time.Now().Add(-time.Hour) })
	r.Event("store_started", nil)
	second := r.Chunk()
	r.Close()
	id1, _, _ := strings.Cut(first, "@")
	id2, _, _ := strings.Cut(second, "@")
	if id2 <= id1 {
		t.Fatalf("second run's chunk %s is not after %s", id2, id1)
	}
	if n := len(ownLines(s)); n != 4 {
		t.Fatalf("%d own events after a restart, want 4", n)
	}
}

func TestFullStoreKeepsTheBatch(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	s := openStore(t, dir, 1)
	r := Start(s, nil)
	r.Event("first", nil)
	deadline := time.Now().Add(10 * time.Second)
	for r.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if r.Err() == nil {
		t.Fatal("a full store did not refuse")
	}
	r.mu.Lock()
	held := string(r.buf)
	r.mu.Unlock()
	if !strings.Contains(held, `"_event":"first"`) {
		t.Fatalf("the refused batch was not kept for the next try: %q", held)
	}
	r.Close()
	s.Close()
	if n := len(ownLines(s)); n != 0 {
		t.Fatalf("%d events stored in a full store", n)
	}
}
