package engine

import (
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
		ps, err := compileAll(c.Conds, res, tok)
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
		ps, err := compileAll(c.Conds, res, tok)
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
	case *query.Exists:
		i, err := res(c.Field, true)
		if err != nil {
			return nil, err
		}
		return func(r row, s []Val) bool { return r.exists(i) }, nil
	case *query.Cmp:
		path := c.Field.Path
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
		return anyValue(i, path, tok, func(v Val) bool {
			c, ok := compare(v, lit)
			return ok && holds(op, c)
		}), nil
	case *query.Contains:
		path := c.Field.Path
		i, err := res(c.Field, false)
		if err != nil {
			return nil, err
		}
		if _, err := tok.view(c.Field, false, "search it with contains"); err != nil {
			return nil, err
		}
		sub := c.Value.Str
		return anyValue(i, path, tok, func(v Val) bool { return v.Kind == Str && strings.Contains(v.S, sub) }), nil
	case *query.Match:
		path := c.Field.Path
		i, err := res(c.Field, false)
		if err != nil {
			return nil, err
		}
		if _, err := tok.view(c.Field, false, "search it with ~"); err != nil {
			return nil, err
		}
		re := c.Re
		return anyValue(i, path, tok, func(v Val) bool { return v.Kind == Str && re.MatchString(v.S) }), nil
	case *query.In:
		path := c.Field.Path
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
		return anyValue(i, path, tok, func(v Val) bool {
			for _, l := range lits {
				if c, ok := compare(v, l); ok && c == 0 {
					return true
				}
			}
			return false
		}), nil
	}
	return nil, query.ErrorAt(query.Pos{}, "unsupported condition")
}

// anyValue is the predicate that holds when test holds for one of the
// values of field i, each seen as the client may see it (tok: personal data
// as tokens).
func anyValue(i int, path []string, tok *Tokenizer, test func(Val) bool) pred {
	return func(r row, s []Val) bool {
		for _, v := range r.values(i, s[:0]) {
			if tok != nil {
				v = tok.cell(path, v)
			}
			if test(v) {
				return true
			}
		}
		return false
	}
}

func compileAll(cs []query.Cond, res resolver, tok *Tokenizer) ([]pred, error) {
	ps := make([]pred, len(cs))
	for i, c := range cs {
		p, err := compile(c, res, tok)
		if err != nil {
			return nil, err
		}
		ps[i] = p
	}
	return ps, nil
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
