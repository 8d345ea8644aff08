package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zeebo/xxh3"

	"stele/internal/chunklog"
)

// e2eDuration is how long TestStoreEndToEndWithFaults runs its load:
// STELE_E2E_DURATION (a Go duration), 2 minutes by default.
func e2eDuration(t *testing.T) time.Duration {
	v := os.Getenv("STELE_E2E_DURATION")
	if v == "" {
		return 2 * time.Minute
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 20*time.Second {
		t.Fatalf("STELE_E2E_DURATION=%q: want a duration of at least 20s", v)
	}
	return d
}

// storeEvent is one of the store's own events, from the export.
type storeEvent struct {
	TimeNS int64  `json:"time_ns"`
	Event  string `json:"_event"`
	Source string `json:"source"`
	Chunk  string `json:"chunk"`
	Mode   string `json:"mode"`
	New    int64  `json:"new"`
	Dup    int64  `json:"dup"`
}

// TestStoreEndToEndWithFaults is DESIGN section 4, guarantee 1, for the
// store: three supervisors, each around a program printing 5000 unique
// events a second, and one store pulling from all three, through ten
// kill -9s of the store, a kill -9 of a supervisor, a clean restart of
// another that then serves one chunk twice under two ids, and an outage of
// the third longer than many chunks. At the end every event in the
// supervisors' chunk logs is in the store exactly once, and the store's own
// events show the outage's gap filled newest first behind the live chunk.
func TestStoreEndToEndWithFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for minutes")
	}
	const (
		rate       = 5000
		storeKills = 10
		workers    = 4 // the store's -backfill-workers default
	)
	dur := e2eDuration(t)
	outage := min(10*time.Second, dur/8)
	b := buildBins(t)
	cs := newCerts(t, b, "store", "ops", "sup-a", "sup-b", "sup-c")
	cs.allow("sup.allow", "store")
	sups := []*supervisor{{name: "sup-a"}, {name: "sup-b"}, {name: "sup-c"}}
	for _, s := range sups {
		startSupervisor(t, b, cs, s, rate)
	}
	a, bb, c := sups[0], sups[1], sups[2]
	// The store reaches sup-c through a proxy the test can cut.
	px := newProxy(t, c.p.addr)
	st := &store{dir: t.TempDir(), allow: cs.allow("store.allow", "ops")}
	st.sources = filepath.Join(t.TempDir(), "sources")
	writeFile(t, st.sources, fmt.Sprintf("sup-a https://%s %s\nsup-b https://%s %s\nsup-c https://%s %s\n",
		a.p.addr, cs.fp["sup-a"], bb.p.addr, cs.fp["sup-b"], px.addr, cs.fp["sup-c"]))
	start := time.Now()
	startStore(t, b, cs, st)

	// The faults, in time order; each store kill is at a random moment.
	seed := uint64(time.Now().UnixNano())
	t.Logf("load for %v at %d events/s per supervisor; random seed %d", dur, rate, seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	type action struct {
		at   time.Duration
		name string
	}
	var plan []action
	for range storeKills {
		plan = append(plan, action{dur/20 + time.Duration(rng.Int64N(int64(dur*9/10))), "kill store"})
	}
	plan = append(plan, action{dur / 4, "kill sup-b"}, action{dur * 45 / 100, "cut sup-c"}, action{dur * 3 / 4, "restart sup-a with a chunk twice"})
	sort.SliceStable(plan, func(i, j int) bool { return plan[i].at < plan[j].at })

	var cutAt, restoredAt time.Time
	var copyID, copyOf string
	kills := 0
	for _, act := range plan {
		if d := time.Until(start.Add(act.at)); d > 0 {
			time.Sleep(d) // the load runs meanwhile
		}
		switch act.name {
		case "kill store":
			st.p.kill()
			kills++
			startStore(t, b, cs, st)
			t.Logf("%6.1fs: store killed with SIGKILL (%d of %d) and restarted", time.Since(start).Seconds(), kills, storeKills)
		case "kill sup-b":
			bb.p.kill()
			startSupervisor(t, b, cs, bb, rate)
			t.Logf("%6.1fs: sup-b killed with SIGKILL (its child with it) and restarted", time.Since(start).Seconds())
		case "restart sup-a with a chunk twice":
			// While sup-a is stopped, a closed chunk (and its .sum, which
			// recovery checks it against) is copied to a new id after
			// every other: the restarted supervisor lists it and serves
			// the same lines under two ids.
			if code := a.p.stop(); code != 0 {
				t.Fatalf("sup-a exited %d on SIGTERM\n%s", code, a.p.errText())
			}
			ids := chunkIDs(t, a.dir)
			copyOf = ids[len(ids)/2]
			copyID = chunklog.NextID(ids[len(ids)-1], time.Now())
			for _, ext := range []string{"", ".sum"} {
				data, err := os.ReadFile(filepath.Join(a.dir, copyOf+ext))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(a.dir, copyID+ext), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			startSupervisor(t, b, cs, a, rate)
			t.Logf("%6.1fs: sup-a stopped with SIGTERM, chunk %s copied to %s, sup-a restarted", time.Since(start).Seconds(), copyOf, copyID)
		case "cut sup-c":
			cutAt = time.Now()
			px.cut()
			time.Sleep(outage)
			px.restore()
			restoredAt = time.Now()
			var missed int
			for _, id := range chunkIDs(t, c.dir) {
				if tm, _ := chunklog.IDTime(id); !tm.Before(cutAt) && tm.Before(restoredAt) {
					missed++
				}
			}
			t.Logf("%6.1fs: sup-c unreachable for %v (%d chunks opened meanwhile), reachable again", time.Since(start).Seconds(), outage, missed)
			// No store kill until the gap is filled, so that the store's
			// own events of the refill are all there to check.
			waitFor(t, "sup-c's gap filled", 3*time.Minute, func() (bool, string) {
				s, err := curlStatus(t, cs, st, "ops")
				if err != nil {
					return false, err.Error()
				}
				src, _ := sourceStatus(s, "sup-c")
				return src.State == "live" && src.BacklogChunks == 0 && src.ConnectedSince.After(restoredAt), fmt.Sprintf("%+v", src)
			})
			t.Logf("%6.1fs: sup-c's backlog is empty again", time.Since(start).Seconds())
			// The refill's chunk_done events are stored in batches every
			// 100 ms (package ownevents); a store kill right now could lose
			// the last batch, which a kill may (and checkOutage then finds
			// a chunk never done). Give them time to land, with margin for
			// a loaded machine.
			time.Sleep(2 * time.Second)
		}
	}
	if d := time.Until(start.Add(dur)); d > 0 {
		time.Sleep(d)
	}

	// The programs fall quiet (SIGUSR1, forwarded by the supervisors);
	// the store catches up with what is on disk.
	for _, s := range sups {
		s.p.cmd.Process.Signal(syscall.SIGUSR1)
	}
	t.Logf("%6.1fs: programs quiet; waiting for the store to catch up", time.Since(start).Seconds())
	want := map[string]map[xxh3.Uint128]bool{}
	onDisk := map[string]int{}
	twice := map[string]int{}
	waitFor(t, "the store catching up", 10*time.Minute, func() (bool, string) {
		s, err := curlStatus(t, cs, st, "ops")
		if err != nil {
			return false, err.Error()
		}
		for _, sup := range sups {
			ok, why := caughtUp(t, s, sup)
			if !ok {
				return false, why
			}
		}
		// Read the logs as they are now, and make sure nothing was
		// written meanwhile.
		for _, sup := range sups {
			set, n, dups := readLog(t, sup.dir)
			want[sup.name], onDisk[sup.name], twice[sup.name] = set, n, dups
		}
		s, err = curlStatus(t, cs, st, "ops")
		if err != nil {
			return false, err.Error()
		}
		for _, sup := range sups {
			if ok, why := caughtUp(t, s, sup); !ok {
				return false, "changed while reading: " + why
			}
		}
		return true, ""
	})
	final, _ := curlStatus(t, cs, st, "ops")
	t.Logf("%6.1fs: caught up; storage %+v", time.Since(start).Seconds(), final.Storage)
	for _, src := range final.Sources {
		t.Logf("  %s: %s, %d chunks done, %d lines new, %d dup (this store process)", src.Name, src.State, src.ChunksDone, src.LinesNew, src.LinesDup)
	}
	if code := st.p.stop(); code != 0 {
		t.Fatalf("store exited %d on SIGTERM\n%s", code, st.p.errText())
	}
	for _, s := range sups {
		if code := s.p.stop(); code != 0 {
			t.Errorf("%s exited %d on SIGTERM", s.name, code)
		}
	}

	// The export holds every event of every log exactly once. A JSON round
	// trip per line costs minutes under the race detector, so a line that is
	// byte for byte a logged line with the _source member added (the store
	// keeps the bytes as fetched; merged segments put _source after time_ns)
	// is matched by its bytes: equal bytes are equal canonical JSON. Every other line, and every logged line left over,
	// is compared as canonical JSON. (A log holding one record in two key
	// orders could hide a duplicate from this; the programs here print one
	// key order, and the supervisor's own events come from one builder.)
	lines := exportLines(t, b, st.dir)
	seen := map[recordKey]bool{}
	got := map[string]int{}
	matched := map[string]map[xxh3.Uint128]bool{}
	for _, sup := range sups {
		matched[sup.name] = map[xxh3.Uint128]bool{}
	}
	var slow [][]byte
	for i, l := range lines {
		if src, raw, ok := splitSource(l); ok && want[src][xxh3.Hash128(raw)] {
			h := xxh3.Hash128(raw)
			if matched[src][h] {
				t.Fatalf("export line %d is a duplicate: %s", i+1, l)
			}
			matched[src][h] = true
			got[src]++
			continue
		}
		slow = append(slow, l)
	}
	left := map[string]map[xxh3.Uint128]bool{} // canonical identities not matched by bytes
	for _, sup := range sups {
		if len(matched[sup.name]) < len(want[sup.name]) {
			left[sup.name] = leftOver(t, sup.dir, matched[sup.name])
		}
	}
	var own []storeEvent
	for i, l := range slow {
		src, canon, err := canonical(l)
		if err != nil {
			t.Fatalf("export line %d: %v: %q", i+1, err, l)
		}
		k := keyOf(src, canon)
		if seen[k] {
			t.Fatalf("export line is a duplicate: %s", l)
		}
		seen[k] = true
		if src == "store" {
			got[src]++
			var e storeEvent
			if err := json.Unmarshal(l, &e); err != nil {
				t.Fatal(err)
			}
			own = append(own, e)
			continue
		}
		if _, ok := want[src]; !ok {
			t.Fatalf("export line has an unknown _source: %s", l)
		}
		if !left[src][k.hash] {
			t.Fatalf("export line is in no chunk of %s, or a duplicate in other bytes: %s", src, l)
		}
		delete(left[src], k.hash)
		got[src]++
	}
	t.Logf("export: %d lines, %d of them compared as canonical JSON", len(lines), len(slow))
	if len(slow) > 0 {
		t.Logf("export: e.g. %s", slow[len(slow)/2])
	}
	for _, sup := range sups {
		t.Logf("%s: %d lines in its chunk log, %d of them repeated (the copied chunk), %d distinct, %d in the export",
			sup.name, onDisk[sup.name], twice[sup.name], len(want[sup.name]), got[sup.name])
		if got[sup.name] != len(want[sup.name]) {
			t.Errorf("%s: %d events in the export, want %d", sup.name, got[sup.name], len(want[sup.name]))
		}
	}
	if twice["sup-a"] == 0 || twice["sup-b"]+twice["sup-c"] != 0 {
		t.Errorf("lines twice on disk: %v; want some in sup-a's copied chunk only", twice)
	}
	t.Logf("store: %d own events in the export", got["store"])
	slices.SortStableFunc(own, func(x, y storeEvent) int { return cmp.Compare(x.TimeNS, y.TimeNS) })
	logDone(t, own)
	for _, e := range own {
		if e.Event == "chunk_done" && e.Chunk == copyID {
			t.Logf("sup-a's chunk %s (a copy of %s) done: %d lines new, %d dup (%s)", copyID, copyOf, e.New, e.Dup, e.Mode)
		}
	}
	checkOutage(t, own, chunkIDs(t, c.dir), cutAt, restoredAt, workers)
}

// caughtUp reports whether the store has every byte of sup's log on disk.
func caughtUp(t *testing.T, s status, sup *supervisor) (bool, string) {
	src, ok := sourceStatus(s, sup.name)
	if !ok {
		return false, sup.name + " not in /status"
	}
	ids := chunkIDs(t, sup.dir)
	newest := ids[len(ids)-1]
	fi, err := os.Stat(filepath.Join(sup.dir, newest))
	if err != nil {
		return false, err.Error()
	}
	if src.BacklogChunks != 0 || src.LatestChunk != newest || src.LiveChunk != newest || src.LiveOffset != fi.Size() {
		return false, fmt.Sprintf("%s: newest chunk %s has %d bytes; status %+v", sup.name, newest, fi.Size(), src)
	}
	return true, ""
}

// readLog returns the identities of the lines in a supervisor's chunk log
// (the xxh3-128 of their bytes), how many lines it has, and how many of them
// repeat an earlier one byte for byte.
func readLog(t *testing.T, dir string) (set map[xxh3.Uint128]bool, lines, dups int) {
	t.Helper()
	set = map[xxh3.Uint128]bool{}
	eachLine(t, dir, func(l []byte) {
		h := xxh3.Hash128(l)
		if set[h] {
			dups++
		}
		set[h] = true
		lines++
	})
	return set, lines, dups
}

// leftOver returns the canonical identities of the lines of a log whose
// bytes are not in matched.
func leftOver(t *testing.T, dir string, matched map[xxh3.Uint128]bool) map[xxh3.Uint128]bool {
	t.Helper()
	left := map[xxh3.Uint128]bool{}
	eachLine(t, dir, func(l []byte) {
		if matched[xxh3.Hash128(l)] {
			return
		}
		_, canon, err := canonical(l)
		if err != nil {
			t.Fatalf("%s: %v: %q", dir, err, l)
		}
		left[xxh3.Hash128(canon)] = true
	})
	return left
}

// eachLine calls f with every line of every chunk in dir, without its
// newline.
func eachLine(t *testing.T, dir string, f func(l []byte)) {
	t.Helper()
	for _, id := range chunkIDs(t, dir) {
		data, err := os.ReadFile(filepath.Join(dir, id))
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > 0 && data[len(data)-1] != '\n' {
			t.Fatalf("%s/%s does not end on a line boundary", dir, id)
		}
		for _, l := range splitLines(data) {
			f(l)
		}
	}
}

// splitSource takes the member ,"_source":"NAME" out of an exported line
// (the store appends it, or a merged segment puts it after time_ns) and
// returns NAME and the line without it.
func splitSource(l []byte) (source string, raw []byte, ok bool) {
	const key = `,"_source":"`
	i := bytes.Index(l, []byte(key))
	if i < 0 {
		return "", nil, false
	}
	j := i + len(key)
	for ; j < len(l) && l[j] != '"'; j++ {
		if c := l[j]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return "", nil, false
		}
	}
	if j == len(l) {
		return "", nil, false
	}
	raw = append(append(make([]byte, 0, len(l)), l[:i]...), l[j+1:]...)
	return string(l[i+len(key) : j]), raw, true
}

// logDone summarises the store's chunk_done events per source and mode.
func logDone(t *testing.T, own []storeEvent) {
	type key struct{ source, mode string }
	n := map[key][3]int64{}
	starts := 0
	for _, e := range own {
		switch e.Event {
		case "chunk_done":
			k := key{e.Source, e.Mode}
			v := n[k]
			n[k] = [3]int64{v[0] + 1, v[1] + e.New, v[2] + e.Dup}
		case "store_started":
			starts++
		}
	}
	// A store killed within ownevents' batching interval of its start
	// loses its store_started event, as ownevents documents.
	t.Logf("store: %d store_started events", starts)
	keys := make([]key, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int { return strings.Compare(a.source+a.mode, b.source+b.mode) })
	for _, k := range keys {
		v := n[k]
		t.Logf("store: %s: %d chunks done in %s mode, %d lines new, %d dup", k.source, v[0], k.mode, v[1], v[2])
	}
}

// checkOutage checks, from the store's own events, how sup-c's outage was
// recovered: the live loop stored the newest chunk first (chunk_live), then
// the chunks opened during the outage were done in backfill mode, newest
// first, every one of them.
//
// The live chunk's chunk_done may come after some backfilled chunks: it
// completes only when the supervisor closes it, while backfill starts as
// soon as the live stream has stored its first data. So "first" is shown by
// chunk_live, which precedes every backfill of the gap, unless the live
// stream took longer than collect's liveGrace (1s) after the connect, when
// backfill starts anyway (internal/collect/doc.go). With several workers
// the gap's chunks complete out of strict order, but the first to complete
// is among the newest `workers` of them and the last among the oldest.
func checkOutage(t *testing.T, own []storeEvent, ids []string, cutAt, restoredAt time.Time, workers int) {
	t.Helper()
	const liveGrace = time.Second
	var live, connected *storeEvent
	for i, e := range own {
		if e.Source != "sup-c" || e.TimeNS < restoredAt.UnixNano() {
			continue
		}
		if e.Event == "source_connected" && connected == nil {
			connected = &own[i]
		}
		if e.Event == "chunk_live" && live == nil {
			live = &own[i]
		}
	}
	if live == nil || connected == nil {
		t.Fatal("no source_connected and chunk_live events of sup-c after the outage")
	}
	backfillFrom := min(live.TimeNS, connected.TimeNS+int64(liveGrace))
	var gap []string
	for _, id := range ids {
		if tm, _ := chunklog.IDTime(id); !tm.Before(cutAt) && id < live.Chunk {
			gap = append(gap, id)
		}
	}
	if len(gap) < 5 {
		t.Fatalf("only %d chunks of sup-c opened during the outage; want several", len(gap))
	}
	done := map[string]storeEvent{}
	var order []string // the gap's chunks in the order they were done
	var liveDone *storeEvent
	for i, e := range own {
		if e.Event != "chunk_done" || e.Source != "sup-c" || e.TimeNS < restoredAt.UnixNano() {
			continue
		}
		if e.Chunk == live.Chunk {
			liveDone = &own[i]
		}
		if _, dup := done[e.Chunk]; !dup && slices.Contains(gap, e.Chunk) {
			done[e.Chunk] = e
			order = append(order, e.Chunk)
		}
	}
	for _, id := range gap {
		e, ok := done[id]
		switch {
		case !ok:
			t.Errorf("sup-c chunk %s, opened during the outage, was never done", id)
		case e.Mode != "backfill":
			t.Errorf("sup-c chunk %s done in %s mode, want backfill", id, e.Mode)
		case e.TimeNS < backfillFrom:
			t.Errorf("sup-c chunk %s done before the live stream stored chunk %s", id, live.Chunk)
		}
	}
	if len(order) != len(gap) {
		return
	}
	newest, oldest := gap[max(len(gap)-workers, 0):], gap[:min(workers, len(gap))]
	if !slices.Contains(newest, order[0]) || !slices.Contains(oldest, order[len(order)-1]) {
		t.Errorf("gap of sup-c not filled newest first: done in the order %v of %v", order, gap)
	}
	inversions := 0
	for i := 1; i < len(order); i++ {
		if order[i] > order[i-1] {
			inversions++
		}
	}
	liveAt := "never in live mode"
	if liveDone != nil && liveDone.Mode == "live" {
		before := 0
		for _, id := range order {
			if done[id].TimeNS < liveDone.TimeNS {
				before++
			}
		}
		liveAt = fmt.Sprintf("done in live mode %v after the outage, with %d of the gap's chunks done before it", time.Duration(liveDone.TimeNS-restoredAt.UnixNano()), before)
	} else {
		t.Errorf("sup-c's live chunk %s after the outage: %s", live.Chunk, liveAt)
	}
	t.Logf("sup-c outage: reconnected %v after the outage; live chunk %s stored %v after that; it was %s",
		time.Duration(connected.TimeNS-restoredAt.UnixNano()), live.Chunk, time.Duration(live.TimeNS-connected.TimeNS), liveAt)
	t.Logf("sup-c outage: %d chunks opened during it, all done in backfill mode from %v to %v after it; first %s (newest is %s), last %s (oldest is %s); %d of %d consecutive completions out of newest-first order",
		len(gap), time.Duration(done[order[0]].TimeNS-restoredAt.UnixNano()), time.Duration(done[order[len(order)-1]].TimeNS-restoredAt.UnixNano()),
		order[0], gap[len(gap)-1], order[len(order)-1], gap[0], inversions, len(order)-1)
}

// TestStoreRefusesPinMismatch: a source whose sources line pins another
// certificate than its supervisor presents is refused, and says why in
// /status; nothing of it is stored, while a correct source flows.
func TestStoreRefusesPinMismatch(t *testing.T) {
	b := buildBins(t)
	cs := newCerts(t, b, "store", "ops", "sup-good", "sup-bad", "impostor")
	cs.allow("sup.allow", "store")
	good, bad := &supervisor{name: "sup-good"}, &supervisor{name: "sup-bad"}
	startSupervisor(t, b, cs, good, 200)
	startSupervisor(t, b, cs, bad, 200)
	st := &store{dir: t.TempDir(), allow: cs.allow("store.allow", "ops")}
	st.sources = filepath.Join(t.TempDir(), "sources")
	writeFile(t, st.sources, fmt.Sprintf("sup-good https://%s %s\nsup-bad https://%s %s\n",
		good.p.addr, cs.fp["sup-good"], bad.p.addr, cs.fp["impostor"]))
	startStore(t, b, cs, st)

	var refused string
	waitFor(t, "sup-bad refused and sup-good flowing", time.Minute, func() (bool, string) {
		s, err := curlStatus(t, cs, st, "ops")
		if err != nil {
			return false, err.Error()
		}
		g, _ := sourceStatus(s, "sup-good")
		x, _ := sourceStatus(s, "sup-bad")
		refused = x.LastError
		return g.State == "live" && g.LinesNew > 0 && x.State == "refused", fmt.Sprintf("%+v\n%+v", g, x)
	})
	t.Logf("sup-bad in /status: %s", refused)
	if !strings.Contains(refused, "pinned fingerprint") || !strings.Contains(refused, cs.fp["impostor"]) {
		t.Errorf("sup-bad's error does not name the pinning problem: %q", refused)
	}
	if code := st.p.stop(); code != 0 {
		t.Fatalf("store exited %d\n%s", code, st.p.errText())
	}
	n := map[string]int{}
	for _, l := range exportLines(t, b, st.dir) {
		src, _, err := canonical(l)
		if err != nil {
			t.Fatal(err)
		}
		n[src]++
	}
	if n["sup-bad"] != 0 || n["sup-good"] == 0 {
		t.Errorf("events stored per source: %v; want sup-good's and none of sup-bad's", n)
	}
}

// TestStoreStatusAndReload: /status admits listed client certificates
// only, at the handshake; SIGHUP applies an edited sources file and keeps
// the one in force when the new one is malformed.
func TestStoreStatusAndReload(t *testing.T) {
	b := buildBins(t)
	cs := newCerts(t, b, "store", "ops", "mallory", "sup-1", "sup-2")
	cs.allow("sup.allow", "store")
	s1, s2 := &supervisor{name: "sup-1"}, &supervisor{name: "sup-2"}
	startSupervisor(t, b, cs, s1, 200)
	startSupervisor(t, b, cs, s2, 200)
	st := &store{dir: t.TempDir(), allow: cs.allow("store.allow", "ops")}
	st.sources = filepath.Join(t.TempDir(), "sources")
	line1 := fmt.Sprintf("sup-1 https://%s %s\n", s1.p.addr, cs.fp["sup-1"])
	line2 := fmt.Sprintf("sup-2 https://%s %s\n", s2.p.addr, cs.fp["sup-2"])
	writeFile(t, st.sources, line1)
	startStore(t, b, cs, st)

	// Without a certificate, or with one not listed, curl fails at the
	// handshake: no HTTP status at all.
	for _, client := range []string{"", "mallory"} {
		out, code, errOut := curl(t, append([]string{"-o", "/dev/null", "-w", "%{http_code}"}, statusArgs(cs, st, client)...)...)
		if code == 0 || out != "000" {
			t.Errorf("curl /status with client certificate %q: exit %d, HTTP %q; want a failed handshake", client, code, out)
		}
		t.Logf("curl with client certificate %q: exit %d: %s", client, code, strings.TrimSpace(errOut))
	}
	out, code, errOut := curl(t, statusArgs(cs, st, "ops")...)
	if code != 0 {
		t.Fatalf("curl /status with the listed certificate: exit %d: %s", code, errOut)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("/status is not JSON: %v\n%s", err, out)
	}
	storage, _ := raw["storage"].(map[string]any)
	if _, ok := raw["sources"].([]any); !ok || storage == nil || storage["events"] == nil || storage["segments"] == nil {
		t.Errorf("/status lacks sources or storage totals:\n%s", out)
	}
	waitFor(t, "sup-1's events", time.Minute, func() (bool, string) {
		s, err := curlStatus(t, cs, st, "ops")
		if err != nil {
			return false, err.Error()
		}
		src, _ := sourceStatus(s, "sup-1")
		return src.LinesNew > 0, fmt.Sprintf("%+v", s.Sources)
	})

	// SIGHUP: sup-2 in, sup-1 out.
	writeFile(t, st.sources, "# edited\n"+line2)
	st.p.cmd.Process.Signal(syscall.SIGHUP)
	var before int64
	waitFor(t, "sup-2 added and sup-1 removed", time.Minute, func() (bool, string) {
		s, err := curlStatus(t, cs, st, "ops")
		if err != nil {
			return false, err.Error()
		}
		src, ok := sourceStatus(s, "sup-2")
		before = src.LinesNew
		_, old := sourceStatus(s, "sup-1")
		return ok && src.LinesNew > 0 && !old && len(s.Sources) == 1, fmt.Sprintf("%+v", s.Sources)
	})

	// A malformed file keeps sup-2, which goes on flowing.
	writeFile(t, st.sources, line2+"sup-3 not-a-url\n")
	st.p.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the reload refused", time.Minute, func() (bool, string) {
		e := st.p.errText()
		return strings.Contains(e, "keeping the sources in force"), e
	})
	wantErr := "store: error: sources: " + st.sources + `: line 2: want NAME URL FINGERPRINT, got 2 fields: "sup-3 not-a-url" (keeping the sources in force)` + "\n"
	if e := st.p.errText(); e != wantErr {
		t.Errorf("store on the malformed file:\n%s\nwant:\n%s", e, wantErr)
	}
	waitFor(t, "sup-2 flowing after the failed reload", time.Minute, func() (bool, string) {
		s, err := curlStatus(t, cs, st, "ops")
		if err != nil {
			return false, err.Error()
		}
		src, _ := sourceStatus(s, "sup-2")
		return len(s.Sources) == 1 && src.State == "live" && src.LinesNew > before, fmt.Sprintf("%+v", s.Sources)
	})
	if !st.p.running() {
		t.Fatal("the store exited")
	}
	if code := st.p.stop(); code != 0 {
		t.Fatalf("store exited %d\n%s", code, st.p.errText())
	}
	n := map[string]int{}
	events := map[string]int{}
	for _, l := range exportLines(t, b, st.dir) {
		var e storeEvent
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatal(err)
		}
		src, _ := m["_source"].(string)
		n[src]++
		if src == "store" {
			json.Unmarshal(l, &e)
			events[e.Event]++
		}
	}
	if n["sup-1"] == 0 || n["sup-2"] == 0 || events["sources_reloaded"] != 1 || events["sources_reload_failed"] != 1 {
		t.Errorf("stored per source %v; own events %v", n, events)
	}
}

// TestStoreExportRefusesRunningStore: export takes the directory's lock,
// so it refuses a store that runs, and works once it has stopped.
func TestStoreExportRefusesRunningStore(t *testing.T) {
	b := buildBins(t)
	cs := newCerts(t, b, "store", "ops")
	st := &store{dir: t.TempDir(), allow: cs.allow("store.allow", "ops")}
	st.sources = filepath.Join(t.TempDir(), "sources")
	writeFile(t, st.sources, "# no sources yet\n")
	startStore(t, b, cs, st)
	r := runStore(t, b.store, "", "export", "-dir", st.dir)
	want := "store: error: " + st.dir + " is in use by another store process (stop it first)\n"
	if r.code != 1 || r.stderr != want || r.stdout != "" {
		t.Errorf("export of a running store: exit %d, stdout %q, stderr %q; want 1, %q", r.code, r.stdout, r.stderr, want)
	}
	if code := st.p.stop(); code != 0 {
		t.Fatalf("store exited %d\n%s", code, st.p.errText())
	}
	r = runStore(t, b.store, "", "export", "-dir", st.dir)
	if r.code != 0 || !strings.Contains(r.stdout, `"_event":"store_started"`) {
		t.Errorf("export of the stopped store: exit %d, stderr %q, stdout %q", r.code, r.stderr, r.stdout)
	}
}

// TestStoreBadCommandLines: mistakes exit 2 with one clear message and
// the usage, before anything is opened.
func TestStoreBadCommandLines(t *testing.T) {
	b := buildBins(t)
	dir := t.TempDir()
	full := []string{"-dir", filepath.Join(dir, "data"), "-sources", filepath.Join(dir, "sources"), "-tls-cert", "c", "-tls-key", "k", "-listen", "127.0.0.1:0", "-allow", "a"}
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"-dir", dir}, "store: error: -sources is required\n"},
		{full[:10], "store: error: -allow is required\n"},
		{append(slices.Clone(full), "-backfill-workers", "0"), "store: error: -backfill-workers must be 1 to 64\n"},
		{append(slices.Clone(full), "-max-age", "soon"), `store: error: invalid value "soon" for flag -max-age: want a positive duration such as 30d or 12h, got "soon"` + "\n"},
		{append(slices.Clone(full), "-max-age", "-3d"), `store: error: invalid value "-3d" for flag -max-age: want a positive duration such as 30d or 12h, got "-3d"` + "\n"},
		{append(slices.Clone(full), "-frobnicate"), "store: error: flag provided but not defined: -frobnicate\n"},
		{append(slices.Clone(full), "extra"), `store: error: unexpected argument "extra"` + "\n"},
		{[]string{"export"}, "store: error: export needs -dir DIR\n"},
	}
	for _, tt := range tests {
		r := runStore(t, b.store, "", tt.args...)
		if r.code != 2 || !strings.HasPrefix(r.stderr, tt.msg+"usage:\n") || strings.Count(r.stderr, "store: error:") != 1 {
			t.Errorf("store %v: exit %d, stderr:\n%s\nwant exit 2 and %q, then the usage", tt.args, r.code, r.stderr, tt.msg)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Error("a refused command line created the data directory")
	}
}
