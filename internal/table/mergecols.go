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
	var m columnMerge
	index := map[colKey]int{}
	ins := make([]*flatInput, len(files))
	for i, f := range files {
		in := &flatInput{f: f, name: names[i]}
		for _, leaf := range f.Schema.Leaves {
			k := colKey{leaf.Path()[0], leaf.Type}
			j, ok := index[k]
			if !ok {
				j = len(m.keys)
				index[k] = j
				m.keys = append(m.keys, k)
			}
			in.out = append(in.out, j)
		}
		ins[i] = in
	}
	for _, in := range ins {
		if err := in.load(len(m.keys)); err != nil {
			return err
		}
	}
	m.out = make([]dremel.Column, len(m.keys))
	for {
		m.refs = m.refs[:0]
		for len(m.refs) < blockRows {
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
			m.refs = append(m.refs, flatRef{in.cur, in.cur.row})
			in.cur.row++
			if in.cur.row == len(in.cur.times) {
				if err := in.load(len(m.keys)); err != nil {
					return err
				}
			}
		}
		if len(m.refs) == 0 {
			return nil
		}
		if err := m.addBlock(w); err != nil {
			return err
		}
	}
}

// columnMerge is the state of a column merge: the output columns, and
// the records of the next output block. Its slices serve block after
// block.
type columnMerge struct {
	keys  []colKey        // the output columns
	out   []dremel.Column // by output column: its entries in the block
	refs  []flatRef       // the block's records, in order
	cols  []dremel.Column // the block's columns: those of out any record has
	times []int64         // the block's records' times
	zeros []uint8         // repetition levels, shared: no column has repetition
}

// flatRef is a record of an input block.
type flatRef struct {
	blk *flatBlock
	row int
}

// addBlock adds the records m.refs, in their order, to w as one block
// of the columns that any of them has.
func (m *columnMerge) addBlock(w *Writer) error {
	n := len(m.refs)
	if len(m.zeros) < n {
		m.zeros = make([]uint8, n)
	}
	m.times = m.times[:0]
	for _, r := range m.refs {
		m.times = append(m.times, r.blk.times[r.row])
	}
	root := &dremel.Field{Type: dremel.Group}
	m.cols = m.cols[:0]
	for j, k := range m.keys {
		col := &m.out[j]
		if cap(col.D) < n {
			col.D = make([]uint8, n)
		}
		col.R, col.D = m.zeros[:n], col.D[:n]
		clear(col.D)
		col.Strs, col.Ints, col.Bools = col.Strs[:0], col.Ints[:0], col.Bools[:0]
		has := false
		for i, r := range m.refs {
			in := r.blk.cols[j]
			if in == nil || in.D[r.row] == 0 {
				continue
			}
			has = true
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
		if !has {
			continue
		}
		root.Children = append(root.Children, &dremel.Field{Name: k.name, Repetition: dremel.Optional, Type: k.typ})
		m.cols = append(m.cols, *col)
	}
	s, err := dremel.NewSchema(root)
	if err != nil {
		return fmt.Errorf("table: merge: %w", err)
	}
	err = w.addColumns(s, m.cols, m.times)
	for j := range m.out {
		clear(m.out[j].Strs) // let the input blocks go
	}
	return err
}
