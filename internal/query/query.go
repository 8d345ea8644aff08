// Package query is the front end of Stele's query language (DESIGN section
// 3.1): Parse turns query text into a typed Query the executor plans from,
// and Query.String prints it back in canonical form.
//
// # Lexical rules
//
// A query is UTF-8 text of at most MaxQueryBytes bytes. Lines end at "\n"
// (a "\r" before it is dropped). Each line holds one stage; "#" outside a
// string or backquotes starts a comment that runs to the end of the line;
// blank and comment-only lines are ignored. Keywords are lower case only
// (WHERE, AND are errors with a hint); they are:
//
//	stages:     since until where stats sort limit fields follow
//	reserved:   and or not in contains exists by every as asc desc
//
// A reserved word is not a field name where a field may start; write it in
// backquotes (`by`). Function names (count, p99, ...) and stage names are not
// reserved.
//
// Field names are [A-Za-z_][A-Za-z0-9_]* segments joined by "." for nesting
// (a.b.c is key "c" inside "b" inside "a"). A segment in backquotes may hold
// any text but a backquote or a control character, so `a.b` is one key
// containing a dot, and `x-y`.z is key "z" inside key "x-y". Values are
// JSON strings (every JSON escape; a lone surrogate becomes U+FFFD as in
// encoding/json) or JSON numbers. Durations and times are bare words (5m,
// 1h30m, 7d, 2026-01-02T15:04:05Z).
//
// # Grammar
//
//	query   = { line "\n" }
//	line    = [ stage ] [ "#" comment ]
//	stage   = "since" T | "until" T | "where" cond
//	        | "stats" agg { "," agg } [ "by" field { "," field } ] [ "every" D ]
//	        | "sort" field [ "asc" | "desc" ] { "," field [ "asc" | "desc" ] }
//	        | "limit" N | "fields" field { "," field } | "follow"
//	cond    = and { "or" and }
//	and     = unary { "and" unary }
//	unary   = "not" unary | primary
//	primary = "(" cond ")" | "exists" field
//	        | field ( "=" | "!=" | "<" | "<=" | ">" | ">=" ) value
//	        | field "contains" string | field "~" string
//	        | field "in" "(" value { "," value } ")"
//	agg     = ( "count" | func "(" field ")" ) [ "as" name ]
//	func    = count | sum | avg | min | max | p50 | p90 | p95 | p99 | p999 | distinct
//	name    = identifier | `backquoted`       (one segment: no dots)
//
// T is a duration back from now (timespec.Duration: 90s, 1h30m, 7d), an RFC
// 3339 time or integer ns (timespec.Parse); since must be before until when
// both are of one kind. D is a duration of at least MinEvery. N is a whole
// number from 1 to MaxLimit.
//
// # Stage order
//
// Rows flow top to bottom, and the row stages must be written in the order
// they run: where lines, stats, where lines (filtering the stats rows), sort,
// then limit and fields (in either order: they commute). since, until and
// follow restrict or extend the whole query and may be on any line. Each
// stage but where appears at most once. follow cannot be combined with stats
// or sort. After stats, where, sort and fields name the stats output
// (Stats.Outputs), which the parser checks. Output names must be distinct:
// two aggregates with one default name need "as".
//
// # Errors
//
// Every error is a *SyntaxError: a one-line message naming the 1-based line
// and column (counted in Unicode characters, so it matches what an editor
// shows), usually with the likely fix. Echoed input is quoted and clipped, so
// the message is safe to return to an HTTP client.
package query

import (
	"fmt"
	"regexp"
	"time"
)

// Query is one parsed query. The executor runs its parts in this order:
// the time range and Where on stored events, then Stats, After, Sort, Limit
// and Fields.
type Query struct {
	// Since and Until bound time_ns: since inclusive, until exclusive. Nil
	// means unbounded.
	Since, Until *TimeBound

	// Where holds the conditions of the where lines before stats (or of all
	// where lines without stats), in order; a row must satisfy every one.
	Where []Cond

	// Stats is the stats stage, nil if there is none.
	Stats *Stats

	// After holds the conditions of the where lines after stats. They
	// filter the stats rows, so their fields are stats outputs.
	After []Cond

	// Sort orders the rows: raw events without stats (the default order is
	// newest first), stats rows with it (the default is by group keys,
	// time_ns first with every). Empty means the default.
	Sort []SortKey

	// Limit is the number of rows to return, or -1 for the default: 100
	// raw events newest first without stats, all groups with stats.
	Limit int

	// Fields lists the fields to keep in each row; empty keeps all.
	Fields []Field

	// Follow asks for new matching events as they arrive, after the stored
	// ones. Never set together with Stats or Sort.
	Follow bool

	// Lines records where each stage was written, for the executor's own
	// errors (e.g. Lines.Follow when following is not possible).
	Lines StageLines
}

// StageLines holds the 1-based line of each single stage, 0 if absent.
type StageLines struct {
	Since, Until, Stats, Sort, Limit, Fields, Follow int
}

// TimeBound is the argument of since or until as written. Exactly one form
// holds: Ago > 0 for a duration back from now, or an absolute time in NS.
type TimeBound struct {
	Text string        // as written, e.g. "15m", "2026-01-02T15:04:05Z", "1700000000000000000"
	Ago  time.Duration // > 0: Text is a duration back from the time of the query
	NS   int64         // Ago == 0: the absolute time in ns since the Unix epoch (>= 0)
	Pos  Pos
}

// Resolve returns the bound in ns since the Unix epoch, taking relative
// bounds back from now (and never below 0), as timespec.Parse does.
func (b *TimeBound) Resolve(now time.Time) int64 {
	if b.Ago == 0 {
		return b.NS
	}
	return max(now.Add(-b.Ago).UnixNano(), 0)
}

// Pos is a place in the query text: 1-based line and column, the column
// counted in Unicode characters.
type Pos struct {
	Line, Col int
}

// SyntaxError is the error of Parse: a one-line message about the query text
// at Line and Col (as in Pos). The executor may return its own errors about a
// place in the query with ErrorAt.
type SyntaxError struct {
	Line, Col int
	Msg       string // lower case, no trailing period, no newline
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Col, e.Msg)
}

// ErrorAt returns a *SyntaxError at p. Quote any echoed input with Quote.
func ErrorAt(p Pos, format string, args ...any) *SyntaxError {
	return &SyntaxError{Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)}
}

// Field names a field of an event or of a stats row.
type Field struct {
	// Path holds the keys from the outside in: a.b is ["a", "b"]. At
	// least one segment, none empty.
	Path []string
	Pos  Pos
}

// String returns the field as written canonically: segments joined by ".",
// each bare if it is an identifier (not reserved, for the first) and in
// backquotes otherwise.
func (f Field) String() string { return string(appendField(nil, f)) }

// ValueKind tells what a Value holds.
type ValueKind uint8

const (
	String ValueKind = iota + 1 // Str holds the decoded string
	Number                      // Text, Float and maybe Int hold the number
)

// Value is a literal of the query: a JSON string or a JSON number.
type Value struct {
	Kind ValueKind
	Str  string // String: the decoded text (valid UTF-8)

	// Number: Text is the literal as written (JSON number syntax). Float is
	// its nearest float64 (always finite). IsInt is set when Text is an
	// integer without fraction or exponent that fits an int64, held in Int;
	// 1.0 and 1e3 are not IsInt.
	Text  string
	Float float64
	Int   int64
	IsInt bool

	Pos Pos
}

// Cond is a condition of a where line: *And, *Or, *Not, *Cmp, *Contains,
// *Match, *In or *Exists. A condition on a field the row lacks is false, so
// its Not is true (DESIGN 3.1).
type Cond interface {
	cond()
}

// And holds when every one of Conds does. The parser flattens nested Ands,
// so no element is an *And, and there are at least two.
type And struct{ Conds []Cond }

// Or holds when any one of Conds does. Flattened like And: at least two
// elements, none an *Or.
type Or struct{ Conds []Cond }

// Not holds when Cond does not.
type Not struct{ Cond Cond }

// Op is a comparison operator.
type Op uint8

const (
	Eq Op = iota + 1 // =
	Ne               // !=
	Lt               // <
	Le               // <=
	Gt               // >
	Ge               // >=
)

var opText = [...]string{Eq: "=", Ne: "!=", Lt: "<", Le: "<=", Gt: ">", Ge: ">="}

func (o Op) String() string {
	if int(o) < len(opText) && opText[o] != "" {
		return opText[o]
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Cmp compares a field with a value: Field Op Value.
type Cmp struct {
	Field Field
	Op    Op
	Value Value
}

// Contains holds when the field is a string containing Value.Str (a String;
// case-sensitive, byte-wise).
type Contains struct {
	Field Field
	Value Value
}

// Match holds when the field is a string in which Re finds a match
// (unanchored RE2 search; the pattern may anchor with ^ and $ and set flags
// such as (?i)). Re is compiled from Pattern.Str, a String, within the limits
// of limits.go.
type Match struct {
	Field   Field
	Pattern Value
	Re      *regexp.Regexp
}

// In holds when the field equals one of Values (at least one).
type In struct {
	Field  Field
	Values []Value
}

// Exists holds when the row has the field, whatever its value (null too).
type Exists struct{ Field Field }

func (*And) cond()      {}
func (*Or) cond()       {}
func (*Not) cond()      {}
func (*Cmp) cond()      {}
func (*Contains) cond() {}
func (*Match) cond()    {}
func (*In) cond()       {}
func (*Exists) cond()   {}

// Stats is the stats stage.
type Stats struct {
	Aggs  []Agg         // at least one; output names are distinct
	By    []Field       // group keys, in order; distinct
	Every time.Duration // bucket width (>= MinEvery), or 0 without every
	Pos   Pos           // of the stats keyword
}

// Funcs lists the aggregate functions in the order error messages give them.
var Funcs = []string{"count", "sum", "avg", "min", "max", "p50", "p90", "p95", "p99", "p999", "distinct"}

// Agg is one aggregate of stats.
type Agg struct {
	Func  string // one of Funcs
	Field *Field // the argument; nil only for a plain count (of rows)
	Name  string // output name: from "as NAME", or DefaultName
	Pos   Pos    // of the function name
}

// DefaultName is the output name of an aggregate without "as": "count" for
// a plain count, else Func_F with the dots of F as "_" (p99_duration_ms,
// count_a_b).
func DefaultName(fn string, f *Field) string {
	if f == nil {
		return fn
	}
	name := fn
	for _, seg := range f.Path {
		name += "_" + seg
	}
	// A backquoted segment may hold dots of its own; they become "_" too.
	b := []byte(name)
	for i, c := range b {
		if c == '.' {
			b[i] = '_'
		}
	}
	return string(b)
}

// Outputs lists the fields of a stats row in output order: time_ns with
// every, then the by fields, then one single-segment field per aggregate
// name. Where, sort and fields after stats may name only these.
func (s *Stats) Outputs() []Field {
	var out []Field
	if s.Every > 0 {
		out = append(out, Field{Path: []string{"time_ns"}})
	}
	out = append(out, s.By...)
	for _, a := range s.Aggs {
		out = append(out, Field{Path: []string{a.Name}})
	}
	return out
}

// SortKey is one key of sort.
type SortKey struct {
	Field Field
	Desc  bool
}

// Walk calls fn for c and then for every condition inside it, depth first.
func Walk(c Cond, fn func(Cond)) {
	fn(c)
	switch c := c.(type) {
	case *And:
		for _, d := range c.Conds {
			Walk(d, fn)
		}
	case *Or:
		for _, d := range c.Conds {
			Walk(d, fn)
		}
	case *Not:
		Walk(c.Cond, fn)
	}
}

// Literals calls fn for every literal a condition compares a field with, in
// Where and then After: the value of each *Cmp, each value of an *In, the
// string of a *Contains and the pattern of a *Match. c is the leaf
// condition. fn may replace *v in a Cmp, In or Contains (e.g. a pii token);
// changing a Match's pattern does not recompile Re, so refuse those instead.
func (q *Query) Literals(fn func(c Cond, f Field, v *Value)) {
	visit := func(c Cond) {
		switch c := c.(type) {
		case *Cmp:
			fn(c, c.Field, &c.Value)
		case *In:
			for i := range c.Values {
				fn(c, c.Field, &c.Values[i])
			}
		case *Contains:
			fn(c, c.Field, &c.Value)
		case *Match:
			fn(c, c.Field, &c.Pattern)
		}
	}
	for _, list := range [][]Cond{q.Where, q.After} {
		for _, c := range list {
			Walk(c, visit)
		}
	}
}
