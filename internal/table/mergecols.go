package table

import (
	"fmt"
	"strconv"

	"stele/internal/dremel"
	"stele/internal/segment"
)

// Segments whose fields are all top-level, as most events are, are merged
// as columns: each record's entry is copied from its input column to the
// output's, the strings shared with the decoded input, never assembled
// into a record and shredded again. The output blocks hold what shredding
// the assembled records would give, but for the order of the columns.

// flatSchema reports whether every leaf of s is a top-level field.
func flatSchema(s *dremel.Schema) bool {
	for _, leaf := range s.Leaves {
		if leaf.MaxR() != 0 || leaf.MaxD() != 1 {
			return false
		}
	}
	return true
}

// colKey names a column of a flat schema.
type colKey struct {
	name string
	typ  dremel.Type
}

// flatBlock is a block of an input of a column merge, its columns read
// whole.
type flatBlock struct {
	cols  []*dremel.Column // by output column; nil where the block has none
	next  []int            // by output column: the value the next record present takes
	times []int64          // each record's time, as TimeOf
	row   int              // the next record to take
}

// flatInput is one input of a column merge: its blocks in turn.
type flatInput struct {
	f     *segment.File
	name  string
	out   []int // the output column of each leaf of f's schema
	block int   // the next block to read
	cur   *flatBlock
}

// load reads the next block with records; cur is nil past the last.
func (in *flatInput) load(ncols int) error {
	in.cur = nil
	for in.block < len(in.f.Blocks) {
		b := in.block
		in.block++
		blk := &in.f.Blocks[b]
		if blk.Rows == 0 {
			continue
		}
		fb := &flatBlock{cols: make([]*dremel.Column, ncols), next: make([]int, ncols), times: make([]int64, blk.Rows)}
		for i := range fb.times {
			fb.times[i] = -1
		}
		for _, c := range blk.Chunks {
			col, err := in.f.ReadColumn(b, c.Leaf)
			if err != nil {
				return fmt.Errorf("table: merge %s: %w", in.name, err)
			}
			fb.cols[in.out[c.Leaf]] = col
			if leaf := in.f.Schema.Leaves[c.Leaf]; leaf.Path()[0] == "time_ns" {
				setTimes(fb.times, leaf.Type, col)
			}
		}
		in.cur = fb
		return nil
	}
	return nil
}

// setTimes sets the times of the records that have a usable time_ns in
// col, a column of type typ, as TimeOf reads them.
func setTimes(times []int64, typ dremel.Type, col *dremel.Column) {
	v := 0
	for row, d := range col.D {
		if d == 0 {
			continue
		}
		switch typ {
		case dremel.Int:
			if n := col.Ints[v]; n >= 0 {
				times[row] = n
			}
		case dremel.Number:
			if n, err := strconv.ParseInt(col.Strs[v], 10, 64); err == nil && n >= 0 {
				times[row] = n
			}
		}
		if typ != dremel.Null {
			v++
		}
	}
}

// mergeColumns adds the records of files, whose schemas are flat, to w in
// time order, as blocks of columns.
func mergeColumns(w *Writer, files []*segment.File, names []string) error {
	var keys []colKey
	index := map[colKey]int{}
	ins := make([]*flatInput, len(files))
	for i, f := range files {
		in := &flatInput{f: f, name: names[i]}
		for _, leaf := range f.Schema.Leaves {
			k := colKey{leaf.Path()[0], leaf.Type}
			j, ok := index[k]
			if !ok {
				j = len(keys)
				index[k] = j
				keys = append(keys, k)
			}
			in.out = append(in.out, j)
		}
		ins[i] = in
	}
	for _, in := range ins {
		if err := in.load(len(keys)); err != nil {
			return err
		}
	}
	refs := make([]flatRef, 0, blockRows)
	for {
		refs = refs[:0]
		for len(refs) < blockRows {
			best := -1
			for i, in := range ins {
				if in.cur != nil && (best < 0 || in.cur.times[in.cur.row] < ins[best].cur.times[ins[best].cur.row]) {
					best = i
				}
			}
			if best < 0 {
				break
			}
			in := ins[best]
			refs = append(refs, flatRef{in.cur, in.cur.row})
			in.cur.row++
			if in.cur.row == len(in.cur.times) {
				if err := in.load(len(keys)); err != nil {
					return err
				}
			}
		}
		if len(refs) == 0 {
			return nil
		}
		if err := addFlatBlock(w, keys, refs); err != nil {
			return err
		}
	}
}

// flatRef is a record of an input block.
type flatRef struct {
	blk *flatBlock
	row int
}

// addFlatBlock adds the records refs, in their order, to w as one block
// of the columns keys that any of them has.
func addFlatBlock(w *Writer, keys []colKey, refs []flatRef) error {
	root := &dremel.Field{Type: dremel.Group}
	var cols []dremel.Column
	zeros := make([]uint8, len(refs)) // no column has repetition: one R for all
	times := make([]int64, len(refs))
	for i, r := range refs {
		times[i] = r.blk.times[r.row]
	}
	for j, k := range keys {
		col := dremel.Column{R: zeros}
		for i, r := range refs {
			in := r.blk.cols[j]
			if in == nil || in.D[r.row] == 0 {
				continue
			}
			if col.D == nil {
				col.D = make([]uint8, len(refs))
			}
			col.D[i] = 1
			v := r.blk.next[j]
			switch k.typ {
			case dremel.String, dremel.Number, dremel.JSON:
				col.Strs = append(col.Strs, in.Strs[v])
			case dremel.Int:
				col.Ints = append(col.Ints, in.Ints[v])
			case dremel.Bool:
				col.Bools = append(col.Bools, in.Bools[v])
			}
			r.blk.next[j]++
		}
		if col.D == nil {
			continue // none of the records has it
		}
		root.Children = append(root.Children, &dremel.Field{Name: k.name, Repetition: dremel.Optional, Type: k.typ})
		cols = append(cols, col)
	}
	s, err := dremel.NewSchema(root)
	if err != nil {
		return fmt.Errorf("table: merge: %w", err)
	}
	return w.addColumns(s, cols, times)
}
