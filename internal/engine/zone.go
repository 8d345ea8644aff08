package engine

import (
	"slices"

	"stele/internal/dremel"
	"stele/internal/query"
	"stele/internal/segment"
)

// A zone condition decides from a segment block's zone maps alone,
// before any column is read, whether the block may hold a record for
// which the condition holds. False is certain and the block is skipped;
// true means it must be read. Equality with strings looks at the bloom
// filter of each string chunk (low-cardinality columns have one);
// comparisons with integers at the min and max of each integer chunk.
// Everything else, and personal data compared as tokens, says true.
type zone func(f *segFile, blk *segment.Block) bool

// compileZone is compile for zone maps.
func compileZone(c query.Cond, res resolver, tok *Tokenizer) (zone, error) {
	switch c := c.(type) {
	case *query.And:
		zs, err := compileEach(c.Conds, res, tok, compileZone)
		if err != nil {
			return nil, err
		}
		return func(f *segFile, blk *segment.Block) bool {
			for _, z := range zs {
				if !z(f, blk) {
					return false
				}
			}
			return true
		}, nil
	case *query.Or:
		zs, err := compileEach(c.Conds, res, tok, compileZone)
		if err != nil {
			return nil, err
		}
		return func(f *segFile, blk *segment.Block) bool {
			for _, z := range zs {
				if z(f, blk) {
					return true
				}
			}
			return false
		}, nil
	case *query.Cmp:
		if c.Op == query.Ne || tokenized(tok, c.Field.Path) {
			break
		}
		i, err := res(c.Field, false)
		if err != nil {
			return nil, err
		}
		switch lit := literal(&c.Value); {
		case lit.Kind == Str && c.Op == query.Eq:
			return func(f *segFile, blk *segment.Block) bool { return mayHoldString(f, blk, i, []string{lit.S}) }, nil
		case lit.Kind == Int:
			op := c.Op
			return func(f *segFile, blk *segment.Block) bool { return mayCompareInt(f, blk, i, op, lit.I) }, nil
		}
	case *query.In:
		if tokenized(tok, c.Field.Path) {
			break
		}
		var strs []string
		for k := range c.Values {
			if lit := literal(&c.Values[k]); lit.Kind == Str {
				strs = append(strs, lit.S)
			}
		}
		if len(strs) != len(c.Values) {
			break
		}
		i, err := res(c.Field, false)
		if err != nil {
			return nil, err
		}
		return func(f *segFile, blk *segment.Block) bool { return mayHoldString(f, blk, i, strs) }, nil
	}
	return func(*segFile, *segment.Block) bool { return true }, nil
}

// tokenized reports whether a condition may see values of the field as
// tokens, which zone maps know nothing of: personal data, and the text of
// lines that were not events (see wrappedPII).
func tokenized(tok *Tokenizer, path []string) bool {
	return tok != nil && (isPII(path) || wrappedLine(path))
}

// mayHoldString: a block may hold one of strs in field i only in a string
// leaf at its path (no other type equals a string) whose chunk has no
// bloom filter or one that lets one of strs through.
func mayHoldString(f *segFile, blk *segment.Block, i int, strs []string) bool {
	for _, leaf := range f.fieldLeaves[i] {
		if f.f.Schema.Leaves[leaf].Type != dremel.String || blk.Chunk(leaf) == nil {
			continue
		}
		if slices.ContainsFunc(strs, func(s string) bool { return blk.MayContain(leaf, s) }) {
			return true
		}
	}
	return false
}

// mayCompareInt: x op lit may hold for a value x of field i in the block
// only in an integer leaf whose min and max allow it, or in a leaf of
// other numbers (which have no min and max); strings, booleans, nulls and
// kept JSON never compare with a number.
func mayCompareInt(f *segFile, blk *segment.Block, i int, op query.Op, lit int64) bool {
	for _, leaf := range f.fieldLeaves[i] {
		c := blk.Chunk(leaf)
		if c == nil {
			continue
		}
		switch f.f.Schema.Leaves[leaf].Type {
		case dremel.Number:
			return true
		case dremel.Int:
			if !c.HasMinMax {
				return true
			}
			var ok bool
			switch op {
			case query.Eq:
				ok = c.Min <= lit && lit <= c.Max
			case query.Lt:
				ok = c.Min < lit
			case query.Le:
				ok = c.Min <= lit
			case query.Gt:
				ok = c.Max > lit
			case query.Ge:
				ok = c.Max >= lit
			default:
				ok = true
			}
			if ok {
				return true
			}
		}
	}
	return false
}
