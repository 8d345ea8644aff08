package collect

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"stele/internal/chunklog"
	"stele/internal/leakcheck"
	"stele/internal/sources"
)

// TestExactlyOnceAcrossOutages cuts the supervisor's connections mid-stream
// again and again while it writes, and checks that every line is stored
// once, resumed with Range from the checkpoints.
func TestExactlyOnceAcrossOutages(t *testing.T) {
	leakcheck.Check(t)
	r := newRig(t)
	sup := newSupervisor(t, "web1", r.certFP)
	sup.write(50)
	r.start(2, sup.src)
	r.waitFor("the first lines", func() bool { return r.stored(sup) })
	for range 5 {
		sup.write(30) // arrives live
		r.waitFor("live lines", func() bool { return r.stored(sup) })
		sup.write(10)
		sup.down()
		sup.write(20)
		sup.rotate()
		sup.write(40)
		sup.up()
		r.waitFor("lines after the outage", func() bool { return r.stored(sup) })
	}
	r.waitFor("an empty backlog", func() bool { return r.status("web1").BacklogChunks == 0 })
	r.exactlyOnce(sup)
	done := r.order("chunk_done", "web1")
	sorted := slices.Clone(done)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != len(done) {
		t.Errorf("a chunk was done twice: %v", done)
	}
	if len(r.eventsOf("source_lost", "web1")) == 0 || len(r.eventsOf("source_connected", "web1")) < 2 {
		t.Errorf("outages not recorded: %d lost, %d connected", len(r.eventsOf("source_lost", "web1")), len(r.eventsOf("source_connected", "web1")))
	}
	st := r.status("web1")
	if st.State != StateLive || st.LinesNew != int64(len(r.seqs("web1"))) && st.LinesNew < int64(sup.seq) {
		t.Errorf("status %+v after %d lines", st, sup.seq)
	}
}

// TestLiveFirst starts on a source with many closed chunks: the live chunk's
// data is stored before the backlog, which fills newest first.
func TestLiveFirst(t *testing.T) {
	leakcheck.Check(t)
	r := newRig(t)
	sup := newSupervisor(t, "web1", r.certFP)
	var closed []string
	for range 12 {
		closed = append(closed, sup.rotate())
	}
	sup.write(5)
	live := sup.latest()
	r.start(1, sup.src)
	r.waitFor("everything", func() bool { return r.stored(sup) && r.status("web1").BacklogChunks == 0 })
	r.exactlyOnce(sup)
	checkLiveFirst(t, r, "web1", live, closed)
}

// checkLiveFirst checks from the events that live's first data of chunk
// live was stored before any of backlog was done, and that the backlog was
// done newest first, with one worker.
func checkLiveFirst(t *testing.T, r *rig, source, live string, backlog []string) {
	t.Helper()
	r.mu.Lock()
	events := slices.Clone(r.events)
	r.mu.Unlock()
	liveAt := -1
	var order []string
	for i, e := range events {
		if e["source"] != source {
			continue
		}
		switch {
		case e["_event"] == "chunk_live" && e["chunk"] == live && liveAt < 0:
			liveAt = i
		case e["_event"] == "chunk_done" && slices.Contains(backlog, e["chunk"].(string)):
			if e["mode"] != "backfill" {
				t.Errorf("backlog chunk %v done by %v", e["chunk"], e["mode"])
			}
			if liveAt < 0 {
				t.Errorf("backlog chunk %v done before live stored data of %s", e["chunk"], live)
			}
			order = append(order, e["chunk"].(string))
		}
	}
	if liveAt < 0 {
		t.Errorf("no chunk_live for %s", live)
	}
	want := slices.Clone(backlog)
	slices.Sort(want)
	slices.Reverse(want)
	if !slices.Equal(order, want) {
		t.Errorf("backfill order\n%v\nwant newest first\n%v", order, want)
	}
}

// TestOutageNewestFirst takes a source down while it writes several
// chunks: when it is back, the newest chunk's data is stored first, then
// the gap fills newest first.
func TestOutageNewestFirst(t *testing.T) {
	leakcheck.Check(t)
	r := newRig(t)
	sup := newSupervisor(t, "web1", r.certFP)
	sup.write(20)
	r.start(1, sup.src)
	r.waitFor("live data", func() bool { return r.stored(sup) })
	sup.down()
	r.waitFor("the loss", func() bool { return len(r.eventsOf("source_lost", "web1")) > 0 })
	missed := []string{sup.rotate()} // was live, partly stored
	for range 6 {
		missed = append(missed, sup.rotate())
	}
	sup.write(7)
	live := sup.latest()
	sup.up()
	r.waitFor("everything", func() bool { return r.stored(sup) && r.status("web1").BacklogChunks == 0 })
	r.exactlyOnce(sup)
	checkLiveFirst(t, r, "web1", live, missed)
}

// TestDeadSourceDoesNotStallOthers pulls from a source that accepts TCP
// connections and never answers, beside a healthy one.
func TestDeadSourceDoesNotStallOthers(t *testing.T) {
	leakcheck.Check(t)
	r := newRig(t)
	dead := deadSupervisor(t)
	sup := newSupervisor(t, "web1", r.certFP)
	for range 3 {
		sup.rotate()
	}
	r.start(1, dead, sup.src)
	r.waitFor("backlog and live data", func() bool { return r.stored(sup) && r.status("web1").BacklogChunks == 0 })
	sup.write(10)
	r.waitFor("live data", func() bool { return r.stored(sup) })
	r.exactlyOnce(sup)
	if st := r.status("dead"); st.State != StateConnecting && st.State != StateBackoff {
		t.Errorf("dead source: %+v", st)
	}
}

// TestPinMismatch pins another certificate than the supervisor's.
func TestPinMismatch(t *testing.T) {
	leakcheck.Check(t)
	r := newRig(t)
	sup := newSupervisor(t, "web1", r.certFP)
	sup.write(10)
	src := sup.src
	src.Fingerprint[0] ^= 1
	r.start(1, src)
	r.waitFor("refusal", func() bool { return r.status("web1").State == StateRefused })
	st := r.status("web1")
	if !strings.Contains(st.LastError, "pinned fingerprint "+src.Fingerprint.String()) || !strings.Contains(st.LastError, "got "+sup.src.Fingerprint.String()) {
		t.Errorf("last error %q does not name the fingerprints", st.LastError)
	}
	if n := len(r.seqs("web1")); n != 0 {
		t.Errorf("%d lines stored from a refused source", n)
	}
	// Fixed by the operator: the right pin.
	r.c.SetSources([]sources.Source{sup.src})
	r.waitFor("data after the fix", func() bool { return r.stored(sup) })
	r.exactlyOnce(sup)
}

// TestSetSources adds, changes and removes sources.
func TestSetSources(t *testing.T) {
	leakcheck.Check(t)
	r := newRig(t)
	a := newSupervisor(t, "a", r.certFP)
	b := newSupervisor(t, "b", r.certFP)
	a.write(10)
	b.write(10)
	r.start(2, a.src)
	r.waitFor("a", func() bool { return r.stored(a) })
	r.c.SetSources([]sources.Source{a.src, b.src})
	r.waitFor("b", func() bool { return r.stored(b) })
	if got := r.c.Status(); len(got) != 2 || got[0].Name != "a" || got[1].Name != "b" {
		t.Fatalf("status %+v", got)
	}

	// b moves: the same name at another supervisor's address (a's).
	moved := a.src
	moved.Name = "b"
	r.c.SetSources([]sources.Source{a.src, moved})
	a.write(5)
	r.waitFor("a's lines under both names", func() bool {
		got := r.seqs("b")
		return r.stored(a) && got[a.seq-1] > 0
	})

	r.c.SetSources([]sources.Source{a.src})
	if got := r.c.Status(); len(got) != 1 || got[0].Name != "a" {
		t.Fatalf("status after removing b: %+v", got)
	}
	r.c.SetSources(nil)
	if got := r.c.Status(); len(got) != 0 {
		t.Fatalf("status after removing all: %+v", got)
	}
}

// TestGone has the supervisor answer 404 for a listed chunk: it is skipped
// with a chunk_gone event, and not asked for again.
func TestGone(t *testing.T) {
	leakcheck.Check(t)
	r := newRig(t)
	sup := newSupervisor(t, "web1", r.certFP)
	var ids []string
	for range 4 {
		ids = append(ids, sup.rotate())
	}
	sup.discard(ids[1])
	r.start(1, sup.src)
	r.waitFor("the other chunks", func() bool {
		return len(r.eventsOf("chunk_done", "web1")) == 3 && r.status("web1").BacklogChunks == 0
	})
	if got := r.order("chunk_gone", "web1"); !slices.Equal(got, ids[1:2]) {
		t.Errorf("chunk_gone for %v, want %v", got, ids[1:2])
	}
	if st := r.status("web1"); st.ChunksGone != 1 || st.ChunksDone != 3 {
		t.Errorf("status %+v", st)
	}
	// Listed again and again, it is not fetched again.
	sup.rotate()
	r.waitFor("the next chunk", func() bool { return len(r.eventsOf("chunk_done", "web1")) == 4 })
	if n := len(r.eventsOf("chunk_gone", "web1")); n != 1 {
		t.Errorf("%d chunk_gone events", n)
	}
}

// TestMaxAge writes chunks whose ids are older than MaxAge: they are not
// fetched.
func TestMaxAge(t *testing.T) {
	leakcheck.Check(t)
	r := newRig(t)
	r.maxAge = time.Hour
	var mu sync.Mutex
	now := time.Now().Add(-2 * time.Hour)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	sup := newSupervisorLog(t, "web1", r.certFP, chunklog.Options{Now: clock})
	var old, fresh []string
	for range 3 {
		old = append(old, sup.rotate())
	}
	mu.Lock()
	now = time.Now()
	mu.Unlock()
	old = append(old, sup.rotate()) // opened before the clock moved
	for range 3 {
		fresh = append(fresh, sup.rotate())
	}
	sup.write(3)
	r.start(2, sup.src)
	r.waitFor("the fresh chunks", func() bool {
		return len(r.eventsOf("chunk_done", "web1")) == len(fresh) && len(r.eventsOf("chunk_live", "web1")) > 0
	})
	stored := r.store.Chunks("web1")
	for _, id := range old {
		if cp, ok := stored[id]; ok {
			t.Errorf("chunk %s older than MaxAge fetched: %+v", id, cp)
		}
	}
	for _, id := range fresh {
		if !stored[id].Complete {
			t.Errorf("chunk %s not complete: %+v", id, stored[id])
		}
	}
}

// TestIdleWatchdog follows a latest chunk that gets no data: the watchdog
// cuts the stream and the source reconnects, and data still arrives.
func TestIdleWatchdog(t *testing.T) {
	leakcheck.Check(t)
	r := newRig(t)
	r.idle = 200 * time.Millisecond
	sup := newSupervisor(t, "web1", r.certFP)
	sup.write(3)
	r.start(1, sup.src)
	r.waitFor("a cut", func() bool {
		for _, e := range r.eventsOf("source_lost", "web1") {
			if strings.Contains(e["error"].(string), ErrIdle.Error()) {
				return true
			}
		}
		return false
	})
	sup.write(3)
	r.waitFor("data after the cut", func() bool { return r.stored(sup) })
	r.exactlyOnce(sup)
}

// TestFull fills the store's memory: the collector waits and says so, and a
// store restarted with room resumes from the checkpoints, losing and
// repeating nothing.
func TestFull(t *testing.T) {
	leakcheck.Check(t)
	r := newRig(t)
	r.store.Close()
	r.open(20_000) // about a hundred lines
	sup := newSupervisor(t, "web1", r.certFP)
	for range 10 {
		sup.rotate()
	}
	sup.write(10)
	r.start(2, sup.src)
	r.waitFor("memory to fill", func() bool { return strings.Contains(r.status("web1").LastError, "waiting for memory") })
	if r.stored(sup) {
		t.Fatal("everything stored in too little memory")
	}
	r.c.Close()
	r.store.Close()
	r.open(1 << 30)
	r.start(2, sup.src)
	r.waitFor("everything", func() bool { return r.stored(sup) && r.status("web1").BacklogChunks == 0 })
	r.exactlyOnce(sup)
}

// TestFairShare gives one source a large backlog and another a small one,
// with one worker: taking sources in turn, the small backlog is done long
// before the large one.
func TestFairShare(t *testing.T) {
	leakcheck.Check(t)
	r := newRig(t)
	big := newSupervisor(t, "big", r.certFP)
	small := newSupervisor(t, "small", r.certFP)
	for range 30 {
		big.rotate()
	}
	for range 3 {
		small.rotate()
	}
	r.start(1, big.src, small.src)
	r.waitFor("both backlogs", func() bool {
		return len(r.eventsOf("chunk_done", "big")) == 30 && len(r.eventsOf("chunk_done", "small")) == 3
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	bigDone := 0
	for _, e := range r.events {
		if e["_event"] != "chunk_done" {
			continue
		}
		if e["source"] == "big" {
			bigDone++
			continue
		}
		if bigDone > 15 {
			t.Errorf("small's chunk %v done after %d of big's", e["chunk"], bigDone)
		}
	}
}
