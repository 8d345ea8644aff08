package table

import (
	"cmp"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"stele/internal/dremel"
	"stele/internal/segment"
)

// errConflict reports a change that removes a segment no longer live: a
// merge whose input retention dropped meanwhile.
var errConflict = errors.New("table: segment dropped meanwhile")

// Merged says what one merge did.
type Merged struct {
	Inputs []Info
	Output Info
}

// Merge merges the segments of the oldest partition that needs it: one
// with mergeFanIn small segments, or a cold one (ended mergeQuiet before
// now, and no new segment seen for as long) with two, or with one encoded
// fast. It reports false if no partition needed it. One Merge at a time:
// the caller runs them from one goroutine.
//
// A merge in a partition still taking flushes encodes fast, like a flush:
// its output will be merged again, and the full encoder (flate at its
// best effort) costs more than everything else a merge does. A cold
// partition's merge encodes in full, so each record is encoded in full
// once, when its partition has gone quiet.
func (t *Table) Merge(now time.Time) (Merged, bool, error) {
	in, cold := t.pickMerge(now.UnixNano())
	if in == nil {
		return Merged{}, false, nil
	}
	snap := &Snapshot{t: t, Segments: in}
	defer snap.Release()
	out, err := t.merge(in, !cold)
	if err != nil {
		return Merged{}, false, err
	}
	if err := t.Commit(Change{Add: []*Segment{out}, Remove: in}); err != nil {
		if errors.Is(err, errConflict) {
			return Merged{}, false, nil
		}
		return Merged{}, false, err
	}
	t.mu.Lock()
	t.newest[out.Part] = max(t.newest[out.Part], out.N) // not one to wait out
	t.mu.Unlock()
	m := Merged{Output: out.Info}
	for _, s := range in {
		m.Inputs = append(m.Inputs, s.Info)
	}
	return m, true, nil
}

// pickMerge chooses the inputs of the next merge and holds a reference to
// each (the caller releases them); cold says their partition is cold.
func (t *Table) pickMerge(now int64) (in []*Segment, cold bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := 0; i < len(t.segs); {
		j := i
		for j < len(t.segs) && t.segs[j].Part == t.segs[i].Part {
			j++
		}
		part := t.segs[i].Part
		var cands []*Segment
		for _, s := range t.segs[i:j] {
			if s.Bytes < mergeMaxBytes {
				cands = append(cands, s)
			}
		}
		slices.SortFunc(cands, func(a, b *Segment) int { return cmp.Compare(a.Bytes, b.Bytes) })
		var newest uint64
		for _, s := range t.segs[i:j] {
			newest = max(newest, s.N)
		}
		if newest > t.newest[part] {
			t.newest[part], t.quietFrom[part] = newest, now
		}
		cold := (part+1)*t.width+int64(mergeQuiet) < now && t.quietFrom[part]+int64(mergeQuiet) < now
		var total, records int64
		n := 0
		for n < len(cands) && n < mergeMaxInputs && total+cands[n].Bytes <= mergeMaxBytes {
			// While a partition takes flushes, a segment joins only
			// smaller ones of about its records in all: each merge then
			// grows what it rewrites by half at least, and a record is
			// rewritten O(log n) times rather than every few flushes.
			// (Records, not bytes: a small segment's bytes are mostly
			// its footer.)
			if !cold && n > 0 && cands[n].Records > mergeTierRatio*records {
				break
			}
			total += cands[n].Bytes
			records += cands[n].Records
			n++
		}
		// A lone segment encoded fast is worth rewriting once its
		// partition is cold: no merge would rewrite it otherwise.
		if n >= mergeFanIn || (n >= 2 && cold) || (n == 1 && cold && cands[0].fast) {
			in := cands[:n]
			for _, s := range in {
				s.refs++
			}
			return in, cold
		}
		i = j
	}
	return nil, false
}

// merge writes the records of in, sorted by time, into one new segment,
// encoded fast if fast.
func (t *Table) merge(in []*Segment, fast bool) (*Segment, error) {
	w, err := t.NewWriter(in[0].Part)
	if err != nil {
		return nil, err
	}
	if fast {
		w.EncodeFast()
	}
	files := make([]*segment.File, 0, len(in))
	names := make([]string, 0, len(in))
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	flat := true
	for _, s := range in {
		f, err := segment.OpenFile(s.path)
		if err != nil {
			w.Abort()
			return nil, fmt.Errorf("table: merge %s: %w", s.Info, err)
		}
		files = append(files, f)
		names = append(names, s.Info.String())
		flat = flat && flatSchema(f.Schema)
	}
	if flat {
		err = mergeColumns(w, files, names)
	} else {
		err = mergeRecords(w, files, names)
	}
	if err != nil {
		w.Abort()
		return nil, err
	}
	out, err := w.Close()
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, fmt.Errorf("table: merge of %d segments gave no records", len(in))
	}
	return out, nil
}

// mergeRecords adds the records of files to w in time order, assembled
// one at a time.
func mergeRecords(w *Writer, files []*segment.File, names []string) error {
	ins := make([]*mergeInput, 0, len(files))
	defer func() {
		for _, mi := range ins {
			mi.stopBlock()
		}
	}()
	for i, f := range files {
		mi := &mergeInput{f: f, name: names[i]}
		ins = append(ins, mi)
		if err := mi.advance(); err != nil {
			return err
		}
	}
	for {
		best := -1
		for i, mi := range ins {
			if mi.ok && (best < 0 || mi.time < ins[best].time) {
				best = i
			}
		}
		if best < 0 {
			return nil
		}
		mi := ins[best]
		if err := w.addValue(mi.rec, mi.time); err != nil {
			return err
		}
		if err := mi.advance(); err != nil {
			return err
		}
	}
}

// mergeInput is one input of a merge: a cursor over its records, in
// order. Its memory is one block's decoded columns: records are
// assembled one at a time as the merge takes them (iter.Pull turns the
// assembler's callbacks into that cursor).
type mergeInput struct {
	f     *segment.File
	name  string
	block int // the next block to read
	next  func() (int, dremel.Value, bool)
	stop  func()
	err   error // the assembler's, once next reports the end

	ok   bool // rec is the next record
	rec  dremel.Value
	time int64
}

// errStopped ends an assembly the merge no longer wants.
var errStopped = errors.New("table: merge input stopped")

// advance moves to the next record; at the end ok is false.
func (mi *mergeInput) advance() error {
	for {
		if mi.next == nil {
			if mi.block == len(mi.f.Blocks) {
				mi.ok = false
				return nil
			}
			b := mi.block
			mi.block++
			mi.err = nil
			mi.next, mi.stop = iter.Pull2(func(yield func(int, dremel.Value) bool) {
				err := mi.f.AssembleSome(b, nil, nil, func(i int, v dremel.Value) error {
					if !yield(i, v) {
						return errStopped
					}
					return nil
				})
				if err != nil && !errors.Is(err, errStopped) {
					mi.err = err
				}
			})
		}
		_, v, ok := mi.next()
		if ok {
			mi.ok, mi.rec, mi.time = true, v, TimeOf(v)
			return nil
		}
		mi.stop()
		mi.next, mi.stop = nil, nil
		if mi.err != nil {
			return fmt.Errorf("table: merge %s: %w", mi.name, mi.err)
		}
	}
}

// stopBlock ends the assembly of the block being read, if any.
func (mi *mergeInput) stopBlock() {
	if mi.stop != nil {
		mi.stop()
	}
}
