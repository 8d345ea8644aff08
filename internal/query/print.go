package query

import (
	"strconv"
	"strings"
	"time"

	"stele/internal/jsonstr"
)

// String prints q canonically: one line per stage, each ending in "\n", in
// the order since, until, where, stats, where, sort, limit, fields, follow;
// single spaces; parentheses only where precedence needs them; "as" only
// for a name that is not the default; asc never written. Parse of the result
// gives back q (but for positions), so the printed form can stand for q in
// logs and tests.
func (q *Query) String() string {
	var b []byte
	if q.Since != nil {
		b = append(b, "since "+q.Since.Text+"\n"...)
	}
	if q.Until != nil {
		b = append(b, "until "+q.Until.Text+"\n"...)
	}
	b = appendWheres(b, q.Where)
	if s := q.Stats; s != nil {
		b = append(b, "stats "...)
		for i, a := range s.Aggs {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, a.Func...)
			if a.Field != nil {
				b = append(b, '(')
				b = appendField(b, *a.Field)
				b = append(b, ')')
			}
			if a.Name != DefaultName(a.Func, a.Field) {
				b = append(b, " as "...)
				b = appendName(b, a.Name, true)
			}
		}
		b = appendFieldList(b, " by ", s.By)
		if s.Every > 0 {
			b = append(b, " every "+formatDuration(s.Every)...)
		}
		b = append(b, '\n')
	}
	b = appendWheres(b, q.After)
	for i, k := range q.Sort {
		if i == 0 {
			b = append(b, "sort "...)
		} else {
			b = append(b, ", "...)
		}
		b = appendField(b, k.Field)
		if k.Desc {
			b = append(b, " desc"...)
		}
		if i == len(q.Sort)-1 {
			b = append(b, '\n')
		}
	}
	if q.Limit >= 0 {
		b = append(b, "limit "...)
		b = strconv.AppendInt(b, int64(q.Limit), 10)
		b = append(b, '\n')
	}
	if len(q.Fields) > 0 {
		b = appendFieldList(b, "fields ", q.Fields)
		b = append(b, '\n')
	}
	if q.Follow {
		b = append(b, "follow\n"...)
	}
	return string(b)
}

func appendWheres(b []byte, conds []Cond) []byte {
	for _, c := range conds {
		b = append(b, "where "...)
		b = appendCond(b, c, 0)
		b = append(b, '\n')
	}
	return b
}

func appendFieldList(b []byte, prefix string, fields []Field) []byte {
	for i, f := range fields {
		if i == 0 {
			b = append(b, prefix...)
		} else {
			b = append(b, ", "...)
		}
		b = appendField(b, f)
	}
	return b
}

// Contexts of appendCond: what the condition is an operand of.
const (
	inOr  = iota // top level, or an element of Or
	inAnd        // an element of And
	inNot        // the operand of Not
)

func appendCond(b []byte, c Cond, ctx int) []byte {
	switch c := c.(type) {
	case *Or:
		return appendJoined(b, c.Conds, " or ", inOr, ctx > inOr)
	case *And:
		return appendJoined(b, c.Conds, " and ", inAnd, ctx > inAnd)
	case *Not:
		b = append(b, "not "...)
		return appendCond(b, c.Cond, inNot)
	case *Cmp:
		b = appendField(b, c.Field)
		b = append(b, ' ')
		b = append(b, c.Op.String()...)
		b = append(b, ' ')
		return appendValue(b, c.Value)
	case *Contains:
		b = appendField(b, c.Field)
		b = append(b, " contains "...)
		return appendValue(b, c.Value)
	case *Match:
		b = appendField(b, c.Field)
		b = append(b, " ~ "...)
		return appendValue(b, c.Pattern)
	case *In:
		b = appendField(b, c.Field)
		b = append(b, " in ("...)
		for i, v := range c.Values {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendValue(b, v)
		}
		return append(b, ')')
	case *Exists:
		b = append(b, "exists "...)
		return appendField(b, c.Field)
	}
	panic("query: internal error: unknown condition type")
}

func appendJoined(b []byte, conds []Cond, sep string, ctx int, paren bool) []byte {
	if paren {
		b = append(b, '(')
	}
	for i, c := range conds {
		if i > 0 {
			b = append(b, sep...)
		}
		b = appendCond(b, c, ctx)
	}
	if paren {
		b = append(b, ')')
	}
	return b
}

func appendValue(b []byte, v Value) []byte {
	if v.Kind == String {
		return jsonstr.Append(b, v.Str)
	}
	return append(b, v.Text...)
}

func appendField(b []byte, f Field) []byte {
	for i, seg := range f.Path {
		if i > 0 {
			b = append(b, '.')
		}
		b = appendName(b, seg, i == 0)
	}
	return b
}

// appendName writes one name, in backquotes unless it is an identifier
// that can stand there bare (reserved words only after a dot).
func appendName(b []byte, name string, first bool) []byte {
	bare := name != "" && isIdentStart(name[0]) && !(first && reserved[name])
	for i := 0; bare && i < len(name); i++ {
		bare = isIdentByte(name[i])
	}
	if bare {
		return append(b, name...)
	}
	return append(b, "`"+name+"`"...)
}

// formatDuration writes d as Parse reads it back: whole days as "7d",
// otherwise Go's form without zero minutes and seconds ("1h30m", "5m").
func formatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
