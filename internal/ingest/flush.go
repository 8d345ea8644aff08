package ingest

import (
	"cmp"
	"fmt"
	"slices"

	"stele/internal/dedup"
	"stele/internal/table"
)

// frozen is a memtable being flushed to segments; it stays in memory,
// readable, until the manifest naming its segments is written.
type frozen struct {
	id    uint64
	base  uint64 // the number of mem's first record (see Tail)
	mem   memtable
	bytes int64
}

// segmentKeys returns the identities of the stored records of
// de-duplication partition part, and the number of the last flush the
// segments it read include.
func (s *Store) segmentKeys(part int64) ([]dedup.Key, uint64, error) {
	snap := s.table.Snapshot()
	defer snap.Release()
	if part == Untimed {
		// Untimed lines are stored by receive time, wrapped: only the
		// memtable de-duplicates them (see the package documentation).
		return nil, snap.Flushed, nil
	}
	from, to := part*s.width, (part+1)*s.width
	var keys []dedup.Key
	for _, seg := range snap.Segments {
		if seg.MaxTime < from || seg.MinTime >= to {
			continue
		}
		s.rebuilds.Add(1)
		err := seg.Scan(from, to, func(line []byte, _ int64) error {
			keys = append(keys, dedup.KeyOfStored(line))
			return nil
		})
		if err != nil {
			return nil, snap.Flushed, fmt.Errorf("ingest: %w", err)
		}
	}
	return keys, snap.Flushed, nil
}

// preload makes the partitions of items resident, reading their segments
// without holding s.mu.
func (s *Store) preload(items []item) {
	var parts []int64
	s.mu.Lock()
	for _, it := range items {
		if !s.idx.Resident(it.part) && !slices.Contains(parts, it.part) {
			parts = append(parts, it.part)
		}
	}
	s.mu.Unlock()
	for _, p := range parts {
		keys, flushed, err := s.segmentKeys(p)
		s.mu.Lock()
		// A flush whose memtable was dropped after the segments were
		// listed would be missing: leave it to loadLocked then.
		if err == nil && flushed >= s.dropped && !s.idx.Resident(p) {
			s.loadWithLocked(p, keys)
		}
		if err != nil {
			s.segErr = err
		}
		s.mu.Unlock()
	}
}

// Flushed says what one Flush wrote.
type Flushed struct {
	Records  int
	Segments []table.Info
}

// MemBytes returns what the memtables hold, charged as for MemoryBytes.
func (s *Store) MemBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.memBytes
}

// Flush moves the memtable into segments, one per segment partition,
// records sorted by time; commits them with the checkpoints they bring in
// one manifest; and then removes the log files they make redundant. If it
// fails, the records stay in memory and in the log, and the next Flush
// writes them.
func (s *Store) Flush() (Flushed, error) {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	var out Flushed

	s.cut.Lock()
	s.mu.Lock()
	idle := s.logged == s.loggedAtFlush && len(s.frozen) == 0 && s.mem.n == 0
	s.loggedAtFlush = s.logged
	s.mu.Unlock()
	if idle {
		s.cut.Unlock()
		return out, nil
	}
	seq, err := s.log.Rotate()
	if err != nil {
		s.cut.Unlock()
		return out, fmt.Errorf("ingest: flush: %w", err)
	}
	state := s.encodeState()
	s.mu.Lock()
	if s.mem.n > 0 {
		s.flushes++
		f := frozen{id: s.flushes, base: s.base, mem: s.mem}
		s.base += uint64(s.mem.n)
		for r := range f.mem.all() {
			f.bytes += int64(len(r.Line)) + recordOverhead
		}
		s.frozen = append(s.frozen, f)
		s.mem = memtable{}
	}
	todo := slices.Clone(s.frozen)
	s.mu.Unlock()
	s.cut.Unlock()

	segs, n, err := s.writeSegments(todo)
	if err != nil {
		return out, err
	}
	var last uint64
	if len(todo) > 0 {
		last = todo[len(todo)-1].id
	}
	if err := s.table.Commit(table.Change{WAL: seq, State: state, Add: segs, Flushed: last}); err != nil {
		return out, fmt.Errorf("ingest: flush: %w", err)
	}
	s.mu.Lock()
	for len(s.frozen) > 0 && s.frozen[0].id <= last {
		s.memBytes -= s.frozen[0].bytes
		s.frozen = s.frozen[1:]
	}
	s.dropped = max(s.dropped, last)
	s.mu.Unlock()
	if err := s.log.Remove(seq); err != nil {
		return out, fmt.Errorf("ingest: flush: %w", err)
	}
	out.Records = n
	for _, sg := range segs {
		out.Segments = append(out.Segments, sg.Info)
	}
	return out, nil
}

// writeSegments writes the records of memtables fs, sorted by time, into
// one new segment per segment partition, and returns how many it wrote.
func (s *Store) writeSegments(fs []frozen) ([]*table.Segment, int, error) {
	// Sorting pointers rather than a copy of the records keeps the flush's
	// own memory at 8 bytes a record.
	n := 0
	for _, f := range fs {
		n += f.mem.n
	}
	order := make([]*Record, 0, n)
	for _, f := range fs {
		order = slices.AppendSeq(order, f.mem.all())
	}
	slices.SortStableFunc(order, func(a, b *Record) int { return cmp.Compare(a.TimeNS, b.TimeNS) })
	var segs []*table.Segment
	abort := func() {
		for _, sg := range segs {
			table.Discard(sg)
		}
	}
	for i := 0; i < len(order); {
		part := s.table.Partition(order[i].TimeNS)
		w, err := s.table.NewWriter(part)
		if err != nil {
			abort()
			return nil, 0, fmt.Errorf("ingest: flush: %w", err)
		}
		w.EncodeFast() // merges rewrite it
		for ; i < len(order) && s.table.Partition(order[i].TimeNS) == part; i++ {
			r := order[i]
			add := w.Add
			if r.event {
				add = w.AddEvent // scanned when accepted
			}
			if err := add(r.Source, r.Line, r.TimeNS); err != nil {
				w.Abort()
				abort()
				return nil, 0, fmt.Errorf("ingest: flush: %w", err)
			}
		}
		sg, err := w.Close()
		if err != nil {
			abort()
			return nil, 0, fmt.Errorf("ingest: flush: %w", err)
		}
		if sg != nil {
			segs = append(segs, sg)
		}
	}
	return segs, len(order), nil
}

// View is a consistent view of every stored record: segments and memory.
type View struct {
	Mem  []Record        // records not in the view's segments, acceptance order per memtable
	Snap *table.Snapshot // the segments; Release the view when done
}

// Release lets the view's segments go.
func (v *View) Release() { v.Snap.Release() }

// View returns every record stored now, each exactly once.
func (s *Store) View() *View {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Under s.mu no frozen memtable is dropped, so the ones listed are
	// either in the snapshot's segments (number ≤ Flushed) or not.
	snap := s.table.Snapshot()
	var mem []Record
	for _, f := range s.frozen {
		if f.id > snap.Flushed {
			for r := range f.mem.all() {
				mem = append(mem, *r)
			}
		}
	}
	for r := range s.mem.all() {
		mem = append(mem, *r)
	}
	return &View{Mem: mem, Snap: snap}
}

// Table returns the store's segments, for merges and retention.
func (s *Store) Table() *table.Table { return s.table }

// Tail calls fn with each record added to memory since number from (0:
// all), oldest first, and returns the number to continue from. Records
// are numbered in the order they were added, from 0 at Open. Records that
// have left memory for segments since are not seen again: gone says how
// many were skipped so.
func (s *Store) Tail(from uint64, fn func(r Record)) (next, gone uint64) {
	s.mu.Lock()
	var parts []memtable
	var bases []uint64
	for _, f := range s.frozen {
		parts, bases = append(parts, f.mem), append(bases, f.base)
	}
	parts, bases = append(parts, s.mem.snapshot()), append(bases, s.base)
	s.mu.Unlock()
	next = from
	for i, m := range parts {
		base := bases[i]
		if next < base {
			gone += base - next
			next = base
		}
		for ; next < base+uint64(m.n); next++ {
			fn(*m.at(int(next - base)))
		}
	}
	return next, gone
}

// Changed returns a channel closed when records are next added.
func (s *Store) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Next returns the number the next record added will get.
func (s *Store) Next() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base + uint64(s.mem.n)
}
