package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"stele/internal/chunklog"
	"stele/internal/dedup"
	"stele/internal/jsonscan"
	"stele/internal/table"
	"stele/internal/wal"
)

var (
	// ErrGap reports a run that starts after the chunk's checkpoint: the
	// caller fetches again from Checkpoint.
	ErrGap = errors.New("ingest: run starts after the checkpoint")
	// ErrFull reports that the memtable is at Options.MemoryBytes; nothing
	// of the run was accepted.
	ErrFull = errors.New("ingest: memtable full")
	// ErrSource reports a source name that is not 1 to 64 of [A-Za-z0-9_.-].
	ErrSource = errors.New("ingest: bad source name")
	// ErrChunk reports a chunk id that chunklog.ValidID refuses.
	ErrChunk = errors.New("ingest: bad chunk id")
	// ErrRun reports a run that is not whole lines covering [start, end), or
	// whose overlap with what is accepted does not end at a line boundary.
	ErrRun = errors.New("ingest: malformed run")
	// ErrTooLarge reports a single line too long for one log record.
	ErrTooLarge = errors.New("ingest: line too long")
	// ErrComplete reports bytes past the end of a chunk already complete,
	// or a complete chunk claimed shorter than what is accepted.
	ErrComplete = errors.New("ingest: chunk already complete")
	// ErrClosed reports use of a Store after Close or after a failed
	// write to the log.
	ErrClosed = errors.New("ingest: store closed")
)

// Untimed is the de-duplication partition of lines without a usable
// time_ns; real partitions are time_ns / PartitionWidth, never negative.
const Untimed int64 = -1

// Options configures a Store.
type Options struct {
	Dir            string        // the write-ahead log goes in Dir/wal, segments in Dir/segments
	DedupBudget    int           // identities kept in memory; at least 1
	MemoryBytes    int64         // memtable bound, > 0; Accept fails with ErrFull beyond it
	PartitionWidth time.Duration // time span of a de-duplication partition; 0 means 5s: small enough that the partitions backfill and live tails touch at once fit DedupBudget even at 60k events/s
	SegmentWidth   time.Duration // time span of a segment partition; 0 means 1h
}

// Record is one accepted line.
type Record struct {
	Source string
	TimeNS int64  // the line's time_ns, or the receive time of an untimed line
	Line   []byte // without the newline; must not be modified
	// untimed: the line has no usable time_ns (its partition is
	// Untimed); event: segments keep it as the event it is
	// (table.Writer.AddEvent).
	untimed, event bool
}

// Checkpoint is what is accepted of a chunk.
type Checkpoint struct {
	Offset   int64 // bytes of the chunk accepted, at a line boundary
	Complete bool  // the chunk is closed and accepted to its end
}

// Accepted says what one Accept did.
type Accepted struct {
	New     int        // lines stored
	Dup     int        // lines already stored, skipped
	Untimed int        // lines without a usable time_ns (among New and Dup)
	Now     Checkpoint // the chunk's checkpoint afterwards
}

// ReplayReport says what Open found in the write-ahead log.
type ReplayReport struct {
	Batches   int64 // log records applied
	Lines     int   // lines restored to the memtable
	Dups      int   // lines of the log already restored: should stay 0
	TornBytes int64 // an unacknowledged, incomplete last record, cut off
	// Corrupt describes damage to the log ("" if none); nothing after it
	// was applied, LostBytes of log are gone.
	Corrupt   string
	LostBytes int64
}

// Store accepts lines durably and exactly once and holds them in memory.
type Store struct {
	width    int64
	rebuilds atomic.Int64 // segment reads to rebuild de-duplication partitions
	limit    int64
	log      *wal.Log
	table    *table.Table

	// flushMu lets one Flush run at a time.
	flushMu sync.Mutex
	// cut is held shared by a run from its log append until its records
	// and checkpoint are visible, and exclusively by Flush while it
	// rotates the log and freezes the memtable: so the log files before
	// the rotation, the frozen records and the checkpoints agree.
	cut sync.RWMutex

	// cmu guards chunks and the checkpoints in them.
	cmu    sync.RWMutex
	chunks map[string]map[string]*chunkState // source → chunk id → state

	// mu guards the fields below; it is never held across I/O.
	mu            sync.Mutex
	idx           *dedup.Index
	inflight      map[*ticket]bool // runs being logged, with the identities they reserved
	mem           memtable         // the memtable being filled
	frozen        []frozen         // memtables being flushed, oldest first
	flushes       uint64           // the number of the last frozen memtable
	dropped       uint64           // the number of the last flushed memtable dropped from memory
	logged        uint64           // batches logged; Flush skips when none since the last
	loggedAtFlush uint64
	base          uint64        // the number (Tail) of mem's first record: records added before it
	changed       chan struct{} // closed and replaced when records are added
	memBytes      int64         // charged for mem and frozen
	memHeld       int64         // charged for runs being logged
	untimed       int64
	segErr        error // the last failure to read segments for de-duplication
	err           error // sticky: set by Close or a failed append
}

type chunkState struct {
	turn sync.Mutex // orders the runs of the chunk; held across the append
	cp   Checkpoint // guarded by Store.cmu
}

// ticket is a run being logged; done is closed once its append returned,
// with failed set before if it failed.
type ticket struct {
	items     []item // the run's lines, those it reserved marked fresh
	fresh     int    // how many it reserved
	size      int64  // the memtable room they are charged
	lineBytes int64  // their bytes in the log record, newlines included
	done      chan struct{}
	failed    bool
}

// Open replays the write-ahead log in o.Dir, then opens it for appending.
func Open(o Options) (*Store, ReplayReport, error) {
	var rep ReplayReport
	if o.Dir == "" {
		return nil, rep, errors.New("ingest: no directory")
	}
	if o.MemoryBytes <= 0 {
		return nil, rep, errors.New("ingest: MemoryBytes must be positive")
	}
	width := o.PartitionWidth
	if width <= 0 {
		width = 5 * time.Second
	}
	segWidth := o.SegmentWidth
	if segWidth <= 0 {
		segWidth = time.Hour
	}
	tbl, err := table.Open(o.Dir, segWidth)
	if err != nil {
		return nil, rep, fmt.Errorf("ingest: %w", err)
	}
	s := &Store{
		width:    int64(width),
		limit:    o.MemoryBytes,
		chunks:   map[string]map[string]*chunkState{},
		idx:      dedup.NewIndex(o.DedupBudget),
		inflight: map[*ticket]bool{},
		table:    tbl,
		changed:  make(chan struct{}),
	}
	if err := s.decodeState(tbl.State()); err != nil {
		return nil, rep, err
	}
	after := tbl.WAL()
	dir := filepath.Join(o.Dir, "wal")
	if err := recoverRebuild(dir); err != nil {
		return nil, rep, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, rep, fmt.Errorf("ingest: %w", err)
	}
	var bad error
	st, err := wal.ReplayAfter(dir, after, func(p []byte) error {
		b, err := decodeBatch(p)
		if err != nil {
			bad = err
			return errStop
		}
		s.apply(&b, &rep)
		return nil
	})
	rep.TornBytes, rep.Corrupt, rep.LostBytes = st.TornBytes, st.Corrupt, st.LostBytes
	if err == errStop {
		rep.Corrupt = fmt.Sprintf("record %d: %v", rep.Batches, bad)
		if err := quarantine(dir, after, rep.Batches); err != nil {
			return nil, rep, err
		}
	} else if err != nil {
		return nil, rep, fmt.Errorf("ingest: replay: %w", err)
	}
	l, err := wal.Open(dir, wal.Options{After: after})
	if err != nil {
		return nil, rep, fmt.Errorf("ingest: %w", err)
	}
	s.log = l
	if err := l.Remove(after); err != nil {
		l.Close()
		return nil, rep, fmt.Errorf("ingest: %w", err)
	}
	return s, rep, nil
}

var errStop = errors.New("ingest: stop replay")

// apply restores one logged batch. Lines are de-duplicated again, so that
// the memtable holds each identity once whatever the log holds.
func (s *Store) apply(b *batch, rep *ReplayReport) {
	rep.Batches++
	s.mu.Lock()
	// One copy of the batch's lines backs its records, as after Accept.
	for rest := bytes.Clone(b.lines); len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		line := rest[:i:i]
		rest = rest[i+1:]
		part, t, untimed, event := s.partition(line, b.received)
		k := dedup.KeyOf(b.source, line)
		if !s.reserveLocked(part, k) {
			rep.Dups++
			continue
		}
		if untimed {
			s.untimed++
		}
		s.addLocked(Record{Source: b.source, TimeNS: t, Line: line, untimed: untimed, event: event})
		rep.Lines++
	}
	s.mu.Unlock()
	c := s.chunk(b.source, b.chunk)
	s.cmu.Lock()
	c.cp.Offset = max(c.cp.Offset, b.end)
	c.cp.Complete = c.cp.Complete || b.complete
	s.cmu.Unlock()
}

// chunk returns the state of (source, chunk), creating it.
func (s *Store) chunk(source, chunk string) *chunkState {
	s.cmu.RLock()
	c := s.chunks[source][chunk]
	s.cmu.RUnlock()
	if c != nil {
		return c
	}
	s.cmu.Lock()
	defer s.cmu.Unlock()
	m := s.chunks[source]
	if m == nil {
		m = map[string]*chunkState{}
		s.chunks[source] = m
	}
	if c = m[chunk]; c == nil {
		c = &chunkState{}
		m[chunk] = c
	}
	return c
}

// partition returns the de-duplication partition and time of line, and
// whether segments keep it as an event (table.Writer.AddEvent).
func (s *Store) partition(line []byte, received int64) (part, t int64, untimed, event bool) {
	r := jsonscan.Scan(line)
	if r.Object && r.HasTime && r.TimeKey == "time_ns" {
		return r.TimeNS / s.width, r.TimeNS, false, r.UTF8
	}
	return Untimed, received, true, false
}

// partOf returns the de-duplication partition of r, as partition did.
func (s *Store) partOf(r *Record) int64 {
	if r.untimed {
		return Untimed
	}
	return r.TimeNS / s.width
}

// reserveLocked adds identity k to partition part, loading the partition
// from the memtable if it was evicted, and reports whether it is new.
func (s *Store) reserveLocked(part int64, k dedup.Key) bool {
	isNew, err := s.idx.Add(part, k)
	if errors.Is(err, dedup.ErrNotResident) {
		s.loadLocked(part)
		isNew, err = s.idx.Add(part, k)
	}
	if err != nil {
		panic("ingest: internal error: partition not resident after load: " + err.Error())
	}
	return isNew
}

// loadLocked rebuilds partition part from the segments, the memtables and
// the runs being logged. Reading segments is I/O under s.mu; reserve reads
// them beforehand (segmentKeys) so that this happens only when a partition
// was evicted in between.
func (s *Store) loadLocked(part int64) {
	keys, _, err := s.segmentKeys(part)
	if err != nil {
		// Segments unreadable: de-duplicate against what is in memory,
		// and say so (Stats.SegmentError).
		s.segErr = err
	}
	s.loadWithLocked(part, keys)
}

// loadWithLocked makes partition part resident with segKeys, the keys of
// its stored records, and those in memory.
func (s *Store) loadWithLocked(part int64, segKeys []dedup.Key) {
	s.idx.Load(part, func(yield func(dedup.Key) bool) {
		for _, k := range segKeys {
			if !yield(k) {
				return
			}
		}
		mems := []*memtable{&s.mem}
		for i := range s.frozen {
			mems = append(mems, &s.frozen[i].mem)
		}
		for _, m := range mems {
			for r := range m.all() {
				if s.partOf(r) == part && !yield(dedup.KeyOf(r.Source, r.Line)) {
					return
				}
			}
		}
		for tk := range s.inflight {
			for _, it := range tk.items {
				if it.fresh && it.part == part && !yield(it.key) {
					return
				}
			}
		}
	})
}

func (s *Store) addLocked(r Record) {
	s.mem.add(r)
	s.memBytes += int64(len(r.Line)) + recordOverhead
}

// Accept stores the lines of [start, end) of chunk of source that it has not
// stored yet, and moves the chunk's checkpoint to end (and to complete, if
// complete says the chunk ends at end). It returns once that is durable.
// lines is whole lines, each ending in '\n'; Accept does not keep it.
func (s *Store) Accept(source, chunk string, start, end int64, lines []byte, complete bool) (Accepted, error) {
	var a Accepted
	if !validSource(source) {
		return a, fmt.Errorf("%w: %q", ErrSource, clip(source))
	}
	if !chunklog.ValidID(chunk) {
		return a, fmt.Errorf("%w: %q", ErrChunk, clip(chunk))
	}
	if start < 0 || end < start || end-start != int64(len(lines)) {
		return a, fmt.Errorf("%w: [%d, %d) with %d bytes", ErrRun, start, end, len(lines))
	}
	if len(lines) > 0 && lines[len(lines)-1] != '\n' {
		return a, fmt.Errorf("%w: last line has no newline", ErrRun)
	}
	c := s.chunk(source, chunk)
	c.turn.Lock()
	defer c.turn.Unlock()
	s.cmu.RLock()
	cp := c.cp
	s.cmu.RUnlock()
	a.Now = cp
	switch {
	case start > cp.Offset:
		return a, fmt.Errorf("%w: chunk %s of %s is accepted to %d, run starts at %d", ErrGap, chunk, source, cp.Offset, start)
	case cp.Complete && end > cp.Offset:
		return a, fmt.Errorf("%w: chunk %s of %s ends at %d, run ends at %d", ErrComplete, chunk, source, cp.Offset, end)
	case complete && end < cp.Offset:
		return a, fmt.Errorf("%w: chunk %s of %s said to end at %d, accepted to %d", ErrComplete, chunk, source, end, cp.Offset)
	}
	if end <= cp.Offset && (!complete || cp.Complete) {
		return a, nil // nothing new
	}
	skip := cp.Offset - start
	if skip > 0 && lines[skip-1] != '\n' {
		return a, fmt.Errorf("%w: accepted offset %d of chunk %s of %s is inside a line of the run", ErrRun, cp.Offset, chunk, source)
	}
	rest := lines[skip:]
	pos := cp.Offset
	for {
		n := len(rest)
		if n > maxBatchLines {
			n = bytes.LastIndexByte(rest[:maxBatchLines], '\n') + 1
			if n == 0 {
				return a, fmt.Errorf("%w: at offset %d of chunk %s of %s", ErrTooLarge, pos, chunk, source)
			}
		}
		last := n == len(rest)
		next := Checkpoint{Offset: pos + int64(n), Complete: complete && last}
		if err := s.commit(source, chunk, c, rest[:n], next, &a); err != nil {
			return a, err
		}
		a.Now = next
		rest, pos = rest[n:], next.Offset
		if last {
			return a, nil
		}
	}
}

// item is a line of a run on its way into the memtable.
type item struct {
	line    []byte
	part    int64
	t       int64
	key     dedup.Key
	untimed bool
	event   bool
	fresh   bool // new: reserved by its run
}

// commit logs the new lines of run with checkpoint next as one record and,
// once that is durable, makes both visible. c.turn is held.
func (s *Store) commit(source, chunk string, c *chunkState, run []byte, next Checkpoint, a *Accepted) error {
	received := time.Now().UnixNano()
	items := make([]item, 0, bytes.Count(run, []byte{'\n'}))
	untimed := 0
	for rest := run; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		line := rest[:i]
		rest = rest[i+1:]
		part, t, u, event := s.partition(line, received)
		if u {
			untimed++
		}
		items = append(items, item{line: line, part: part, t: t, key: dedup.KeyOf(source, line), untimed: u, event: event})
	}

	tk, err := s.reserve(items)
	if err != nil {
		return err
	}

	// The record's lines stay on as the memtable's copy (the log does not
	// keep the payload), so a run costs one allocation whatever its length.
	b := batch{source: source, chunk: chunk, end: next.Offset, received: received, complete: next.Complete, count: tk.fresh}
	payload := make([]byte, 0, maxHeaderBytes+tk.lineBytes)
	payload = appendHeader(payload, &b, int(tk.lineBytes))
	for _, it := range items {
		if it.fresh {
			payload = append(payload, it.line...)
			payload = append(payload, '\n')
		}
	}
	s.cut.RLock()
	defer s.cut.RUnlock()
	_, err = s.log.Append(payload)

	s.mu.Lock()
	s.memHeld -= tk.size
	if err != nil {
		s.releaseLocked(tk)
		if s.err == nil {
			s.err = fmt.Errorf("%w: log append failed: %v", ErrClosed, err)
		}
		s.mu.Unlock()
		return fmt.Errorf("ingest: chunk %s of %s: %w", chunk, source, err)
	}
	s.logged++
	mem := payload[len(payload)-int(tk.lineBytes):]
	for _, it := range items {
		if !it.fresh {
			continue
		}
		n := len(it.line)
		s.addLocked(Record{Source: source, TimeNS: it.t, Line: mem[:n:n], untimed: it.untimed, event: it.event})
		mem = mem[n+1:]
		if it.untimed {
			s.untimed++
		}
	}
	delete(s.inflight, tk)
	close(tk.done)
	if tk.fresh > 0 {
		close(s.changed)
		s.changed = make(chan struct{})
	}
	s.mu.Unlock()

	s.cmu.Lock()
	c.cp = next
	s.cmu.Unlock()
	a.New += tk.fresh
	a.Dup += len(items) - tk.fresh
	a.Untimed += untimed
	return nil
}

// reserve reserves the identities of items that are new, marking them
// fresh, and the memtable room they need, and returns the ticket that
// holds them. A line that another run has reserved but not yet logged is
// left to that run, but this run's record, whose checkpoint covers the
// line, may be logged only after that run's. Which run reserved a line is
// not kept (it would cost a map entry per line): a run with a line already
// reserved waits for every run being logged, and starts over if one of
// them failed. Waiting cannot deadlock: a run reserves all its lines in
// one critical section, so it only ever waits for runs that reserved
// before it.
func (s *Store) reserve(items []item) (*ticket, error) {
	s.preload(items)
	for {
		tk := &ticket{items: items, done: make(chan struct{})}
		var waits []*ticket
		s.mu.Lock()
		if s.err != nil {
			s.mu.Unlock()
			return nil, s.err
		}
		for i := range items {
			it := &items[i]
			it.fresh = s.reserveLocked(it.part, it.key)
			if it.fresh {
				tk.fresh++
				tk.size += int64(len(it.line)) + recordOverhead
				tk.lineBytes += int64(len(it.line)) + 1
			}
		}
		if tk.fresh < len(items) {
			for o := range s.inflight {
				waits = append(waits, o)
			}
		}
		if tk.size > 0 && s.memBytes+s.memHeld+tk.size > s.limit {
			s.releaseLocked(tk)
			held := s.memBytes + s.memHeld
			s.mu.Unlock()
			return nil, fmt.Errorf("%w: %d bytes held, %d more would pass the limit of %d", ErrFull, held, tk.size, s.limit)
		}
		s.inflight[tk] = true
		s.memHeld += tk.size
		s.mu.Unlock()

		failed := false
		for _, w := range waits {
			<-w.done
			failed = failed || w.failed
		}
		if !failed {
			return tk, nil
		}
		s.mu.Lock()
		s.memHeld -= tk.size
		s.releaseLocked(tk)
		s.mu.Unlock()
	}
}

// releaseLocked undoes the reservations of a run that will not be logged
// (refused for room, or its log append failed) and tells the runs waiting
// for it. Its identities are removed one by one: the partitions stay
// resident, so a full memtable costs no rebuild from segments.
func (s *Store) releaseLocked(tk *ticket) {
	tk.failed = true
	close(tk.done)
	delete(s.inflight, tk)
	for _, it := range tk.items {
		if it.fresh {
			s.idx.Remove(it.part, it.key)
		}
	}
}

// Checkpoint returns what is accepted of chunk of source.
func (s *Store) Checkpoint(source, chunk string) (offset int64, complete bool) {
	s.cmu.RLock()
	defer s.cmu.RUnlock()
	if c := s.chunks[source][chunk]; c != nil {
		return c.cp.Offset, c.cp.Complete
	}
	return 0, false
}

// Chunks returns the checkpoints of every chunk of source the store knows.
func (s *Store) Chunks(source string) map[string]Checkpoint {
	s.cmu.RLock()
	defer s.cmu.RUnlock()
	m := make(map[string]Checkpoint, len(s.chunks[source]))
	for id, c := range s.chunks[source] {
		m[id] = c.cp
	}
	return m
}

// Scan calls fn with each record of the memtable in acceptance order until
// fn returns false. Records accepted during the scan may be left out.
func (s *Store) Scan(fn func(r Record) bool) {
	s.mu.Lock()
	m := s.mem.snapshot()
	s.mu.Unlock()
	for r := range m.all() {
		if !fn(*r) {
			return
		}
	}
}

// Stats are the store's counters.
type Stats struct {
	Records  int   // in the memtable being filled
	Frozen   int   // in memtables being flushed
	MemBytes int64 // charged for both, as for Options.MemoryBytes
	Untimed  int64 // records without a usable time_ns, stored by receive time
	// SegmentError is the last failure to read segments to rebuild a
	// de-duplication partition ("" if none).
	SegmentError string
	// Rebuilds counts segments read to rebuild de-duplication partitions
	// that left memory: if it keeps growing, the partitions in use do not
	// fit Options.DedupBudget.
	Rebuilds int64
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Records: s.mem.n, MemBytes: s.memBytes, Untimed: s.untimed, Rebuilds: s.rebuilds.Load()}
	for _, f := range s.frozen {
		st.Frozen += f.mem.n
	}
	if s.segErr != nil {
		st.SegmentError = s.segErr.Error()
	}
	return st
}

// Close waits for what is being logged and closes the log. Accept fails
// afterwards.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.err == nil {
		s.err = ErrClosed
	}
	s.mu.Unlock()
	if err := s.log.Close(); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	return nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
