package engine

import (
	"cmp"
	"strconv"

	"stele/internal/dremel"
	"stele/internal/query"
)

// Kind is the kind of a Val.
type Kind uint8

// The kinds of values a record holds. Num is a JSON number that is not a
// canonical int64, kept as its literal text.
const (
	Null Kind = iota
	Bool
	Int
	Num
	Str
	JSON // compact JSON text of an object or array kept whole
)

// Val is one value of a field of a record.
type Val struct {
	Kind Kind
	S    string  // Str; Num's literal; JSON's text
	I    int64   // Int
	F    float64 // Num (parsed), Int (as float)
	B    bool    // Bool
}

// numeric reports whether v is a number, and its value as a float.
func (v Val) numeric() (float64, bool) {
	switch v.Kind {
	case Int:
		return float64(v.I), true
	case Num:
		return v.F, true
	}
	return 0, false
}

func intVal(i int64) Val { return Val{Kind: Int, I: i, F: float64(i)} }

func numVal(lit string) Val {
	f, _ := strconv.ParseFloat(lit, 64) // a JSON number: only range errors, which give ±Inf
	return Val{Kind: Num, S: lit, F: f}
}

// fromDremel converts a scalar leaf value of a dremel value tree.
func fromDremel(v *dremel.Value) Val {
	switch v.Kind {
	case dremel.KindBool:
		return Val{Kind: Bool, B: v.Bool}
	case dremel.KindString:
		return Val{Kind: Str, S: v.Str}
	case dremel.KindNumber:
		return fromNumber(v.Str)
	case dremel.KindNull:
		return Val{Kind: Null}
	}
	return Val{Kind: JSON, S: string(dremel.AppendJSON(nil, *v))}
}

// fromNumber converts a JSON number literal: an Int if it is a canonical
// int64, else a Num.
func fromNumber(lit string) Val {
	if i, err := strconv.ParseInt(lit, 10, 64); err == nil && strconv.FormatInt(i, 10) == lit {
		return intVal(i)
	}
	return numVal(lit)
}

// literal converts a query value.
func literal(v *query.Value) Val {
	if v.Kind == query.String {
		return Val{Kind: Str, S: v.Str}
	}
	if v.IsInt {
		return intVal(v.Int)
	}
	return Val{Kind: Num, S: v.Text, F: v.Float}
}

// compare orders a and b if they are comparable: strings with strings,
// numbers with numbers (exactly between integers), booleans with
// booleans. ok is false otherwise, and then no comparison holds.
func compare(a, b Val) (c int, ok bool) {
	switch {
	case a.Kind == Str && b.Kind == Str:
		return cmp.Compare(a.S, b.S), true
	case a.Kind == Int && b.Kind == Int:
		return cmp.Compare(a.I, b.I), true
	case a.Kind == Bool && b.Kind == Bool:
		if a.B == b.B {
			return 0, true
		}
		if !a.B {
			return -1, true
		}
		return 1, true
	}
	af, aok := a.numeric()
	bf, bok := b.numeric()
	if aok && bok {
		return cmp.Compare(af, bf), true
	}
	return 0, false
}

// order is a total order over all values, for sorting and group keys:
// null < bool < numbers < strings < JSON, then by value. Equal numbers
// that are distinct values (1, 1.0, 1.00) order ints first, then by
// literal, so sorts and percentiles do not depend on input order.
func order(a, b Val) int {
	ra, rb := rank(a.Kind), rank(b.Kind)
	if ra != rb {
		return cmp.Compare(int64(ra), int64(rb))
	}
	if c, ok := compare(a, b); ok {
		if c == 0 && a.Kind != b.Kind {
			return cmp.Compare(int64(a.Kind), int64(b.Kind)) // 1 and 1.0: equal numbers, distinct values
		}
		if c == 0 && a.Kind == Num {
			return cmp.Compare(a.S, b.S) // 1.0 and 1.00
		}
		return c
	}
	return cmp.Compare(a.S, b.S)
}

func rank(k Kind) int {
	switch k {
	case Null:
		return 0
	case Bool:
		return 1
	case Int, Num:
		return 2
	case Str:
		return 3
	}
	return 4
}

// appendKey appends an unambiguous encoding of v, for group keys and
// distinct sets.
func appendKey(dst []byte, v Val) []byte {
	dst = append(dst, byte(v.Kind))
	switch v.Kind {
	case Bool:
		if v.B {
			return append(dst, 1)
		}
		return append(dst, 0)
	case Int:
		return strconv.AppendInt(dst, v.I, 10)
	case Null:
		return dst
	}
	dst = strconv.AppendInt(dst, int64(len(v.S)), 10)
	dst = append(dst, ':')
	return append(dst, v.S...)
}

// size is what v costs in memory, for the query's memory bound.
func (v Val) size() int64 { return 48 + int64(len(v.S)) }
