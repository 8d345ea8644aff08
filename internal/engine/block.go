package engine

import (
	"fmt"
	"slices"

	"stele/internal/dremel"
)

// block is a batch of records in columns: one block of a segment, or
// records from memory shredded the same way, so one code path evaluates
// both.
type block struct {
	rows    int
	schema  *dremel.Schema
	read    func(leaf int) (*dremel.Column, error) // nil for a leaf the block lacks
	has     func(leaf int) bool
	records func(emit func(i int, v dremel.Value) error) error                        // every record, in order
	some    func(want func(i int) bool, emit func(i int, v dremel.Value) error) error // the records i with want(i), in order
	times   []int64                                                                   // time_ns of each record, or -1; nil with allIn
	allIn   bool                                                                      // every record is in the plan's time range

	// ord is the block's place in the source's order (units newest first,
	// then blocks as stored), whatever order blocks are visited in: among
	// records of equal time, raw events keep the earlier in this order.
	ord int64
}

// fieldCol gives the values of one leaf of a field, per record.
type fieldCol struct {
	typ   dremel.Type
	col   *dremel.Column
	maxD  uint8
	flat  bool    // no repeated field on the path: entry i is record i's only one, and start is nil
	start []int32 // start[i]..start[i+1] are record i's entries
	val   []int32 // value index of each entry, or -1 for a NULL entry
}

// span gives the entries of record i.
func (fc *fieldCol) span(i int) (from, to int32) {
	if fc.flat {
		return int32(i), int32(i) + 1
	}
	return fc.start[i], fc.start[i+1]
}

// str is string value vi (String, Number and JSON leaves).
func (fc *fieldCol) str(vi int32) string {
	if fc.col.Codes != nil {
		return fc.col.Dict[fc.col.Codes[vi]]
	}
	return fc.col.Strs[vi]
}

// fieldData is a field of the plan in one block: the leaves at its path,
// and for exists the leaves under it, whose definition levels say whether
// a record has the object at the path.
type fieldData struct {
	cols  []fieldCol
	under []fieldCol
	depth uint8 // len(path): the definition level at which the path is there
}

// load reads the leaves at path from b, and with under the leaves below it.
// The memory of the indexes is charged to limits and added to charged.
func (b *block) load(path []string, under bool, limits *budget, scratch *blockScratch, charged *int64) (fieldData, error) {
	fd := fieldData{depth: uint8(min(len(path), 255))}
	for leaf, f := range b.schema.Leaves {
		lp := f.Path()
		exact := slices.Equal(lp, path)
		below := under && len(lp) > len(path) && slices.Equal(lp[:len(path)], path)
		if !exact && !below || !b.has(leaf) {
			continue
		}
		col, err := b.read(leaf)
		if err != nil {
			return fd, err
		}
		fc, err := index(col, f, b.rows, scratch.int32s(col.Len()))
		if err != nil {
			return fd, err
		}
		*charged += fc.cost()
		if err := limits.charge(fc.cost()); err != nil {
			return fd, err
		}
		if exact {
			fd.cols = append(fd.cols, fc)
		} else {
			fd.under = append(fd.under, fc)
		}
	}
	return fd, nil
}

// exists reports whether record i has a value at the path, or an object
// there (a leaf below it defined at least down to the path).
func (fd *fieldData) exists(i int) bool {
	for c := range fd.cols {
		fc := &fd.cols[c]
		from, to := fc.span(i)
		for e := from; e < to; e++ {
			if fc.val[e] >= 0 {
				return true
			}
		}
	}
	for c := range fd.under {
		fc := &fd.under[c]
		from, to := fc.span(i)
		for e := from; e < to; e++ {
			if fc.col.D[e] >= fd.depth {
				return true
			}
		}
	}
	return false
}

// index finds each record's entries and each entry's value in a column;
// val, of the column's length, becomes fieldCol.val.
func index(col *dremel.Column, f *dremel.Field, rows int, val []int32) (fieldCol, error) {
	fc := fieldCol{typ: f.Type, col: col, maxD: uint8(f.MaxD()), flat: f.MaxR() == 0}
	n := col.Len()
	fc.val = val
	v := int32(0)
	if fc.flat {
		if n != rows {
			return fc, fmt.Errorf("engine: column %s has %d records, block %d", dremel.ColumnName(f.Path()), n, rows)
		}
		// Without branches: whether a record has a value is often a coin
		// toss, which a predictor keeps losing.
		val, maxD := fc.val[:len(col.D)], fc.maxD
		for e, d := range col.D {
			def := b2i(d == maxD)
			val[e] = v&-def | (def - 1)
			v += def
		}
		return fc, nil
	}
	fc.start = make([]int32, 0, rows+1)
	for e := 0; e < n; e++ {
		r := uint8(0)
		if len(col.R) > 0 {
			r = col.R[e]
		}
		if r == 0 {
			fc.start = append(fc.start, int32(e))
		}
		if col.D[e] == fc.maxD {
			fc.val[e] = v
			v++
		} else {
			fc.val[e] = -1
		}
	}
	if len(fc.start) != rows {
		return fc, fmt.Errorf("engine: column %s has %d records, block %d", dremel.ColumnName(f.Path()), len(fc.start), rows)
	}
	fc.start = append(fc.start, int32(n))
	return fc, nil
}

// b2i is 1 for true, 0 for false.
func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// cost is the memory of the index, for the query's bound.
func (fc *fieldCol) cost() int64 { return int64(len(fc.start)+len(fc.val)) * 4 }

// values appends the values record i has for the field.
func (fd *fieldData) values(i int, dst []Val) []Val {
	for c := range fd.cols {
		fc := &fd.cols[c]
		from, to := fc.span(i)
		for e := from; e < to; e++ {
			vi := fc.val[e]
			if vi < 0 {
				continue
			}
			dst = append(dst, fc.value(vi))
		}
	}
	return dst
}

// blockScratch is memory a plan reuses from one block to the next:
// nothing of a block outlives its visit (raw events keep values, which
// point into columns, not here).
type blockScratch struct {
	ints  []int32 // fieldCol.val of the block's fields
	sel   []int32
	times []int64
}

// reset starts a block.
func (s *blockScratch) reset() { s.ints = s.ints[:0] }

// int32s returns n int32s of no set value, for the current block.
func (s *blockScratch) int32s(n int) []int32 {
	if cap(s.ints)-len(s.ints) < n {
		s.ints = make([]int32, 0, max(n, 2*cap(s.ints)))
	}
	s.ints = s.ints[:len(s.ints)+n]
	return s.ints[len(s.ints)-n:]
}

// blockRow is record i of a block whose plan fields are loaded.
type blockRow struct {
	fields []fieldData
	i      int
}

func (r *blockRow) values(f int, dst []Val) []Val { return r.fields[f].values(r.i, dst) }

func (r *blockRow) exists(f int) bool { return r.fields[f].exists(r.i) }

// shredBlock makes a block of records parsed in memory.
func shredBlock(recs []dremel.Value, times []int64) (*block, error) {
	schema, cols, err := dremel.Shred("", recs)
	if err != nil {
		return nil, err
	}
	return &block{
		rows:   len(recs),
		schema: schema,
		read:   func(leaf int) (*dremel.Column, error) { return &cols[leaf], nil },
		has:    func(int) bool { return true },
		records: func(emit func(int, dremel.Value) error) error {
			for i, v := range recs {
				if err := emit(i, v); err != nil {
					return err
				}
			}
			return nil
		},
		some: func(want func(int) bool, emit func(int, dremel.Value) error) error {
			for i, v := range recs {
				if !want(i) {
					continue
				}
				if err := emit(i, v); err != nil {
					return err
				}
			}
			return nil
		},
		times: times,
	}, nil
}
