package engine

import (
	"cmp"
	"math"
	"strings"

	"stele/internal/query"
)

// row is what a condition reads: the values of a field by index, and
// whether the record has the field at all (an object counts).
type row interface {
	values(field int, dst []Val) []Val
	exists(field int) bool
}

// pred is a compiled condition; scratch is reused between calls.
type pred func(r row, scratch []Val) bool

// resolver maps a query field to a row's field index; exists says the
// condition asks whether the field is there, objects included.
type resolver func(f query.Field, exists bool) (int, error)

// compile turns a condition into a predicate. tok, if not nil, is the
// client's pii view: values of pii fields are compared as their tokens.
func compile(c query.Cond, res resolver, tok *Tokenizer) (pred, error) {
	switch c := c.(type) {
	case *query.And:
		ps, err := compileEach(c.Conds, res, tok, compile)
		if err != nil {
			return nil, err
		}
		return func(r row, s []Val) bool {
			for _, p := range ps {
				if !p(r, s) {
					return false
				}
			}
			return true
		}, nil
	case *query.Or:
		ps, err := compileEach(c.Conds, res, tok, compile)
		if err != nil {
			return nil, err
		}
		return func(r row, s []Val) bool {
			for _, p := range ps {
				if p(r, s) {
					return true
				}
			}
			return false
		}, nil
	case *query.Not:
		p, err := compile(c.Cond, res, tok)
		if err != nil {
			return nil, err
		}
		return func(r row, s []Val) bool { return !p(r, s) }, nil
	}
	l, err := compileLeaf(c, res, tok)
	if err != nil {
		return nil, err
	}
	return l.pred(), nil
}

// leaf is a compiled condition on one field: exists, or a test that holds
// when it holds for one of the field's values.
type leaf struct {
	field  int
	path   []string
	tok    *Tokenizer // the client's pii view, or nil
	exists bool
	test   func(Val) bool // the value as the client may see it

	// ints, if set, is test for an Int value the client sees as it is:
	// a comparison with an integer literal, exactly as compare does it.
	ints *intCmp
}

// intCmp is the comparison x op lit of integers.
type intCmp struct {
	op  query.Op
	lit int64
}

func (c *intCmp) holds(x int64) bool { return holds(c.op, cmp.Compare(x, c.lit)) }

// span gives the comparison as a range: x op lit holds when
// uint64(x)-lo <= width (wrapping around), xor not.
func (c *intCmp) span() (lo, width uint64, not int32) {
	const minInt, maxInt = math.MinInt64, math.MaxInt64
	in := func(from, to int64) (uint64, uint64, int32) {
		if from > to {
			// Nothing: the complement of everything.
			return 0, ^uint64(0), 1
		}
		return uint64(from), uint64(to) - uint64(from), 0
	}
	switch lit := c.lit; c.op {
	case query.Eq:
		return in(lit, lit)
	case query.Ne:
		lo, width, _ := in(lit, lit)
		return lo, width, 1
	case query.Lt:
		if lit == minInt {
			return in(1, 0)
		}
		return in(minInt, lit-1)
	case query.Le:
		return in(minInt, lit)
	case query.Gt:
		if lit == maxInt {
			return in(1, 0)
		}
		return in(lit+1, maxInt)
	case query.Ge:
		return in(lit, maxInt)
	}
	return in(1, 0) // as holds: no other operator holds
}

// compileLeaf compiles a condition that is not And, Or or Not.
func compileLeaf(c query.Cond, res resolver, tok *Tokenizer) (*leaf, error) {
	switch c := c.(type) {
	case *query.Exists:
		i, err := res(c.Field, true)
		if err != nil {
			return nil, err
		}
		return &leaf{field: i, path: c.Field.Path, tok: tok, exists: true}, nil
	case *query.Cmp:
		i, err := res(c.Field, false)
		if err != nil {
			return nil, err
		}
		view, err := tok.view(c.Field, c.Op == query.Eq || c.Op == query.Ne, "compare it with "+c.Op.String())
		if err != nil {
			return nil, err
		}
		lit := literal(&c.Value)
		if view != nil {
			if err := view.checkToken(c.Field, &c.Value); err != nil {
				return nil, err
			}
		}
		op := c.Op
		l := &leaf{field: i, path: c.Field.Path, tok: tok, test: func(v Val) bool {
			c, ok := compare(v, lit)
			return ok && holds(op, c)
		}}
		if lit.Kind == Int && view == nil {
			l.ints = &intCmp{op: op, lit: lit.I}
		}
		return l, nil
	case *query.Contains:
		i, err := res(c.Field, false)
		if err != nil {
			return nil, err
		}
		if _, err := tok.view(c.Field, false, "search it with contains"); err != nil {
			return nil, err
		}
		sub := c.Value.Str
		return &leaf{field: i, path: c.Field.Path, tok: tok, test: func(v Val) bool { return v.Kind == Str && strings.Contains(v.S, sub) }}, nil
	case *query.Match:
		i, err := res(c.Field, false)
		if err != nil {
			return nil, err
		}
		if _, err := tok.view(c.Field, false, "search it with ~"); err != nil {
			return nil, err
		}
		re := c.Re
		return &leaf{field: i, path: c.Field.Path, tok: tok, test: func(v Val) bool { return v.Kind == Str && re.MatchString(v.S) }}, nil
	case *query.In:
		i, err := res(c.Field, false)
		if err != nil {
			return nil, err
		}
		view, err := tok.view(c.Field, true, "")
		if err != nil {
			return nil, err
		}
		lits := make([]Val, len(c.Values))
		for k := range c.Values {
			if view != nil {
				if err := view.checkToken(c.Field, &c.Values[k]); err != nil {
					return nil, err
				}
			}
			lits[k] = literal(&c.Values[k])
		}
		return &leaf{field: i, path: c.Field.Path, tok: tok, test: func(v Val) bool {
			for _, l := range lits {
				if c, ok := compare(v, l); ok && c == 0 {
					return true
				}
			}
			return false
		}}, nil
	}
	return nil, query.ErrorAt(query.Pos{}, "unsupported condition")
}

// pred is the leaf as a predicate of one row.
func (l *leaf) pred() pred {
	if l.exists {
		i := l.field
		return func(r row, s []Val) bool { return r.exists(i) }
	}
	return func(r row, s []Val) bool {
		for _, v := range r.values(l.field, s[:0]) {
			if l.tok != nil {
				v = l.tok.cell(l.path, v)
			}
			if l.test(v) {
				return true
			}
		}
		return false
	}
}

// compileEach compiles every condition of cs with compile: as row
// predicates, vector predicates or zone tests.
func compileEach[T any](cs []query.Cond, res resolver, tok *Tokenizer, compile func(query.Cond, resolver, *Tokenizer) (T, error)) ([]T, error) {
	out := make([]T, len(cs))
	for i, c := range cs {
		v, err := compile(c, res, tok)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func holds(op query.Op, c int) bool {
	switch op {
	case query.Eq:
		return c == 0
	case query.Ne:
		return c != 0
	case query.Lt:
		return c < 0
	case query.Le:
		return c <= 0
	case query.Gt:
		return c > 0
	case query.Ge:
		return c >= 0
	}
	return false
}
