package table

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"stele/internal/durable"
)

// Table is the live set of segments of a store directory.
type Table struct {
	dir    string
	segDir string
	width  int64 // partition width in ns

	// commitMu serializes manifest writes, so each starts from the last.
	commitMu sync.Mutex

	// mu guards the fields below; it is never held across I/O.
	mu      sync.Mutex
	wal     uint64
	next    uint64
	state   []byte
	segs    []*Segment // sorted by (Part, N)
	flushed uint64     // Change.Flushed of the last commit that had one

	// newest is the highest segment number pickMerge has seen per
	// partition, merges' outputs aside, and quietFrom the time it was
	// first seen: a partition still taking segments (a backfill of old
	// data) is not cold, and is merged by tiers.
	newest    map[int64]uint64
	quietFrom map[int64]int64
}

// Segment is one segment file of the live set, or one being written.
type Segment struct {
	Info
	path string

	// fast says the segment was encoded for speed (Writer.EncodeFast), so
	// that a merge is worth it even alone. Not in the manifest: after a
	// restart such a segment is left as it is, which costs bytes, not
	// correctness.
	fast bool

	// refs and dropped are guarded by Table.mu: a dropped segment's file
	// is deleted once no snapshot refers to it.
	refs    int
	dropped bool
}

// Path returns the segment's file.
func (s *Segment) Path() string { return s.path }

// Open reads DIR/MANIFEST (none: an empty table) and deletes segment files
// it does not name. width is the time span of a partition.
func Open(dir string, width time.Duration) (*Table, error) {
	if width <= 0 {
		return nil, errors.New("table: partition width must be positive")
	}
	t := &Table{dir: dir, segDir: filepath.Join(dir, "segments"), width: int64(width),
		newest: map[int64]uint64{}, quietFrom: map[int64]int64{}}
	if err := os.MkdirAll(t.segDir, 0o750); err != nil {
		return nil, fmt.Errorf("table: %w", err)
	}
	m, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	t.wal, t.next, t.state = m.wal, m.next, m.state
	live := map[string]bool{}
	for _, meta := range m.segs {
		s := &Segment{Info: meta, path: t.segPath(meta.Part, meta.N)}
		live[filepath.Base(s.path)] = true
		t.segs = append(t.segs, s)
	}
	sortSegs(t.segs)
	for _, s := range t.segs {
		if _, err := os.Stat(s.path); err != nil {
			return nil, fmt.Errorf("table: segment in manifest: %w", err)
		}
	}
	ents, err := os.ReadDir(t.segDir)
	if err != nil {
		return nil, fmt.Errorf("table: %w", err)
	}
	removed := false
	for _, e := range ents {
		if !live[e.Name()] {
			if err := os.Remove(filepath.Join(t.segDir, e.Name())); err != nil {
				return nil, fmt.Errorf("table: remove leftover: %w", err)
			}
			removed = true
		}
	}
	if removed {
		if err := durable.SyncDir(t.segDir); err != nil {
			return nil, fmt.Errorf("table: %w", err)
		}
	}
	return t, nil
}

func sortSegs(segs []*Segment) {
	slices.SortFunc(segs, func(a, b *Segment) int {
		if a.Part != b.Part {
			return cmp.Compare(a.Part, b.Part)
		}
		return cmp.Compare(a.N, b.N)
	})
}

func (t *Table) segPath(part int64, n uint64) string {
	return filepath.Join(t.segDir, Info{Part: part, N: n}.String()+".seg")
}

// Partition returns the partition of time timeNS.
func (t *Table) Partition(timeNS int64) int64 {
	if timeNS < 0 {
		return 0
	}
	return timeNS / t.width
}

// Width returns the partition width in ns.
func (t *Table) Width() int64 { return t.width }

// WAL returns the write-ahead log position of the manifest: every log file
// numbered at most this is in segments.
func (t *Table) WAL() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.wal
}

// State returns the state saved with the manifest.
func (t *Table) State() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state
}

// Change is one atomic change of the live set.
type Change struct {
	WAL     uint64     // new log position; 0 keeps the current one
	State   []byte     // new state; nil keeps the current one
	Add     []*Segment // written by a Writer and not yet live
	Remove  []*Segment // live segments to drop
	Flushed uint64     // if nonzero, Snapshot reports it from now on
}

// Commit writes a manifest with c applied and then makes it the live set.
// If the manifest cannot be written, the added files are deleted and
// nothing changes.
func (t *Table) Commit(c Change) error {
	t.commitMu.Lock()
	defer t.commitMu.Unlock()
	t.mu.Lock()
	m := &manifest{wal: t.wal, next: t.next, state: t.state}
	if c.WAL != 0 {
		m.wal = c.WAL
	}
	if c.State != nil {
		m.state = c.State
	}
	gone := map[*Segment]bool{}
	for _, s := range c.Remove {
		if s.dropped {
			t.mu.Unlock()
			for _, s := range c.Add {
				os.Remove(s.path)
			}
			return fmt.Errorf("%w: %s", errConflict, s.Info)
		}
		gone[s] = true
	}
	var segs []*Segment
	for _, s := range t.segs {
		if !gone[s] {
			segs = append(segs, s)
		}
	}
	segs = append(segs, c.Add...)
	sortSegs(segs)
	for _, s := range segs {
		m.segs = append(m.segs, s.Info)
	}
	t.mu.Unlock()

	if err := writeManifest(t.dir, m); err != nil {
		for _, s := range c.Add {
			os.Remove(s.path)
		}
		return err
	}

	t.mu.Lock()
	t.wal, t.state, t.segs = m.wal, m.state, segs
	if c.Flushed != 0 {
		t.flushed = c.Flushed
	}
	var del []string
	for _, s := range c.Remove {
		s.dropped = true
		if s.refs == 0 {
			del = append(del, s.path)
		}
	}
	t.mu.Unlock()
	removeFiles(del)
	return nil
}

// removeFiles deletes the files of dropped segments. A failure leaves a
// file the manifest does not name, which the next Open deletes.
func removeFiles(paths []string) {
	for _, p := range paths {
		os.Remove(p)
	}
}

// Snapshot is a consistent view of the live set. Its segments' files stay
// until Release, even if a merge or retention drops them meanwhile.
type Snapshot struct {
	t        *Table
	Segments []*Segment // sorted by partition
	Flushed  uint64     // the last Change.Flushed committed
}

// Snapshot returns the live set. Release it when done.
func (t *Table) Snapshot() *Snapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.segs {
		s.refs++
	}
	return &Snapshot{t: t, Segments: slices.Clone(t.segs), Flushed: t.flushed}
}

// Release lets the snapshot's dropped segments go.
func (s *Snapshot) Release() {
	if s.t == nil {
		return
	}
	var del []string
	s.t.mu.Lock()
	for _, seg := range s.Segments {
		seg.refs--
		if seg.refs == 0 && seg.dropped {
			del = append(del, seg.path)
		}
	}
	s.t.mu.Unlock()
	s.t = nil
	removeFiles(del)
}

// Totals are the table's sizes.
type Totals struct {
	Segments int
	Bytes    int64
	Records  int64
}

// Totals sums the live set.
func (t *Table) Totals() Totals {
	t.mu.Lock()
	defer t.mu.Unlock()
	var tot Totals
	for _, s := range t.segs {
		tot.Segments++
		tot.Bytes += s.Bytes
		tot.Records += s.Records
	}
	return tot
}

// Retain drops the segments whose newest record is older than minTime (if
// minTime > 0), then the oldest partitions while the live set holds more
// than maxBytes (if maxBytes > 0). It returns what it dropped.
func (t *Table) Retain(minTime, maxBytes int64) ([]Info, error) {
	t.mu.Lock()
	var drop []*Segment
	var total int64
	for _, s := range t.segs {
		total += s.Bytes
	}
	for _, s := range t.segs { // oldest partitions first
		tooOld := minTime > 0 && s.MaxTime < minTime
		tooBig := maxBytes > 0 && total > maxBytes
		if !tooOld && !tooBig {
			continue
		}
		drop = append(drop, s)
		total -= s.Bytes
	}
	t.mu.Unlock()
	if len(drop) == 0 {
		return nil, nil
	}
	if err := t.Commit(Change{Remove: drop}); err != nil {
		return nil, err
	}
	infos := make([]Info, len(drop))
	for i, s := range drop {
		infos[i] = s.Info
	}
	return infos, nil
}

// String names a segment in events and errors, as its file is named.
func (i Info) String() string {
	return "P" + strconv.FormatInt(i.Part, 10) + "-" + strconv.FormatUint(i.N, 10)
}

// Discard deletes the file of a segment that was written but will not be
// committed.
func Discard(s *Segment) { os.Remove(s.path) }
