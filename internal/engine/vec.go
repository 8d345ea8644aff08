package engine

import (
	"slices"

	"stele/internal/dremel"
	"stele/internal/query"
)

// Conditions are evaluated a block at a time on selection vectors: the
// rows of the block still in the running, in increasing order. A vector
// condition narrows one in place. On a field with one flat leaf (no array
// on its path) it works on the column itself: a dictionary-coded string
// column is tested once per distinct value, then by code; integers are
// compared as integers. Anything else falls back to the row predicate,
// one selected row at a time, so the two always agree.

// vpred narrows sel to the rows for which the condition holds. It may
// write over sel's elements; the result is a prefix of sel.
type vpred func(r *blockRow, sel []int32, scratch []Val) []int32

// compileVec is compile for selection vectors.
func compileVec(c query.Cond, res resolver, tok *Tokenizer) (vpred, error) {
	switch c := c.(type) {
	case *query.And:
		ps, err := compileEach(c.Conds, res, tok, compileVec)
		if err != nil {
			return nil, err
		}
		return func(r *blockRow, sel []int32, s []Val) []int32 {
			for _, p := range ps {
				if len(sel) == 0 {
					break
				}
				sel = p(r, sel, s)
			}
			return sel
		}, nil
	case *query.Or:
		ps, err := compileEach(c.Conds, res, tok, compileVec)
		if err != nil {
			return nil, err
		}
		return func(r *blockRow, sel []int32, s []Val) []int32 {
			// Each alternative sees the rows no earlier one took.
			rest := slices.Clone(sel)
			var took []int32
			for _, p := range ps {
				if len(rest) == 0 {
					break
				}
				in := p(r, slices.Clone(rest), s)
				took = union(took, in)
				rest = minus(rest, in)
			}
			return append(sel[:0], took...)
		}, nil
	case *query.Not:
		p, err := compileVec(c.Cond, res, tok)
		if err != nil {
			return nil, err
		}
		return func(r *blockRow, sel []int32, s []Val) []int32 {
			in := p(r, slices.Clone(sel), s)
			return minus(sel, in)
		}, nil
	}
	l, err := compileLeaf(c, res, tok)
	if err != nil {
		return nil, err
	}
	return l.vec(), nil
}

// union merges two increasing lists.
func union(a, b []int32) []int32 {
	out := make([]int32, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// minus removes from the increasing list a the elements of the increasing
// list b, in place.
func minus(a, b []int32) []int32 {
	out := a[:0]
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j < len(b) && b[j] == x {
			continue
		}
		out = append(out, x)
	}
	return out
}

// flatLeaf returns the field's only leaf if it is flat: then a row has at
// most one value, at entry i of that leaf.
func (fd *fieldData) flatLeaf() (*fieldCol, bool) {
	if len(fd.cols) != 1 || len(fd.under) != 0 || !fd.cols[0].flat {
		return nil, false
	}
	return &fd.cols[0], true
}

// vec is the leaf as a vector condition.
func (l *leaf) vec() vpred {
	row := l.pred()
	slow := func(r *blockRow, sel []int32, s []Val) []int32 {
		out := sel[:0]
		for _, i := range sel {
			r.i = int(i)
			if row(r, s) {
				out = append(out, i)
			}
		}
		return out
	}
	if l.exists {
		return slow
	}
	return func(r *blockRow, sel []int32, s []Val) []int32 {
		fd := &r.fields[l.field]
		if len(fd.cols) == 0 {
			return sel[:0] // no row has a value here
		}
		fc, ok := fd.flatLeaf()
		if !ok {
			return slow(r, sel, s)
		}
		out := sel[:0]
		switch {
		case fc.typ == dremel.Int && l.ints != nil:
			ints := fc.col.Ints
			if len(ints) == 0 {
				return sel[:0] // no row has a value here
			}
			// Without branches, as whether a row has a value or passes
			// is often a coin toss: a row without one (vi < 0, neg = -1)
			// looks at value 0 and is not kept.
			lo, width, not := l.ints.span()
			n := 0
			for _, i := range sel {
				vi := fc.val[i]
				neg := vi >> 31
				in := b2i(uint64(ints[vi&^neg])-lo <= width) ^ not
				sel[n] = i
				n += int(in &^ neg)
			}
			return sel[:n]
		case fc.typ == dremel.String && fc.col.Codes != nil && len(fc.col.Dict) <= len(sel)/4:
			// Few distinct values for the rows: each is tested first,
			// then rows are kept by code without branches (as above).
			codes := fc.col.Codes
			if len(codes) == 0 {
				return sel[:0]
			}
			keep := make([]int32, len(fc.col.Dict))
			for c, v := range fc.col.Dict {
				keep[c] = b2i(l.test(l.cell(Val{Kind: Str, S: v})))
			}
			n := 0
			for _, i := range sel {
				vi := fc.val[i]
				neg := vi >> 31
				sel[n] = i
				n += int(keep[codes[vi&^neg]] &^ neg)
			}
			return sel[:n]
		case fc.typ == dremel.String && fc.col.Codes != nil:
			// Each distinct value is tested once, when a row first has it:
			// 0 not yet, 1 holds, 2 does not.
			seen := make([]uint8, len(fc.col.Dict))
			for _, i := range sel {
				vi := fc.val[i]
				if vi < 0 {
					continue
				}
				code := fc.col.Codes[vi]
				if seen[code] == 0 {
					seen[code] = 2
					if l.test(l.cell(Val{Kind: Str, S: fc.col.Dict[code]})) {
						seen[code] = 1
					}
				}
				if seen[code] == 1 {
					out = append(out, i)
				}
			}
		default:
			for _, i := range sel {
				vi := fc.val[i]
				if vi >= 0 && l.test(l.cell(fc.value(vi))) {
					out = append(out, i)
				}
			}
		}
		return out
	}
}

// cell is v as the leaf's client may see it.
func (l *leaf) cell(v Val) Val {
	if l.tok != nil {
		return l.tok.cell(l.path, v)
	}
	return v
}

// value is value vi of the leaf.
func (fc *fieldCol) value(vi int32) Val {
	switch fc.typ {
	case dremel.String:
		return Val{Kind: Str, S: fc.str(vi)}
	case dremel.Int:
		return intVal(fc.col.Ints[vi])
	case dremel.Number:
		// An array mixing ints and other numbers puts its ints here too:
		// they are ints all the same.
		return fromNumber(fc.str(vi))
	case dremel.Bool:
		return Val{Kind: Bool, B: fc.col.Bools[vi]}
	case dremel.JSON:
		return Val{Kind: JSON, S: fc.str(vi)}
	}
	return Val{Kind: Null}
}
