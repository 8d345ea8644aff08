package engine

// A naive evaluator of the query language, for the differential test: it
// reads each record as a parsed JSON tree and runs a query row by row, by
// the semantics of doc.go and DESIGN 3.1, sharing nothing with the engine
// but the query parser, the record format (table.AppendRecord), the JSON
// tree (dremel.ParseEvent) and the token function (Tokenizer.Token).
//
// Where the columnar mapping decides what a "value at a path" is, this
// mirrors the documented mapping of package dremel rather than guessing:
// a non-empty object is a group, not a value (so exists on it is false);
// empty objects and arrays, arrays of arrays, arrays mixing classes
// (null among others included) and objects at dremel.MaxFieldDepth are
// one whole-JSON value each.

import (
	"cmp"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"stele/internal/dremel"
	"stele/internal/query"
	"stele/internal/table"
)

type nkind uint8

// The order of the kinds is the order of values of different kinds.
const (
	nNull nkind = iota
	nBool
	nNumber // nInt and nNum compare by value
	nStr
	nJSON
)

// nval is a value as the naive evaluator sees it.
type nval struct {
	k     nkind
	isInt bool   // nNumber: the literal is a canonical int64
	b     bool   // nBool
	s     string // nNumber: the literal; nStr: the string; nJSON: compact text
}

// text is the value as JSON, as outputs print it.
func (v nval) text() string {
	switch v.k {
	case nNull:
		return "null"
	case nBool:
		return strconv.FormatBool(v.b)
	case nStr:
		return string(dremel.AppendString(nil, v.s))
	}
	return v.s
}

// id tells values apart: 1 and 1.0 differ, "1" and 1 differ.
func (v nval) id() string { return fmt.Sprintf("%d/%t/%s", v.k, v.isInt, v.text()) }

func (v nval) rat() *big.Rat {
	r, ok := new(big.Rat).SetString(v.s)
	if !ok {
		panic("naive: bad number " + v.s)
	}
	return r
}

func number(lit string) nval {
	i, err := strconv.ParseInt(lit, 10, 64)
	return nval{k: nNumber, s: lit, isInt: err == nil && strconv.FormatInt(i, 10) == lit}
}

func scalar(v *dremel.Value) nval {
	switch v.Kind {
	case dremel.KindBool:
		return nval{k: nBool, b: v.Bool}
	case dremel.KindString:
		return nval{k: nStr, s: v.Str}
	case dremel.KindNumber:
		return number(v.Str)
	case dremel.KindNull:
		return nval{k: nNull}
	}
	return nval{k: nJSON, s: string(dremel.AppendJSON(nil, *v))}
}

// ncompare compares values of one comparable kind: numbers exactly by
// value, strings by bytes. ok is false for other pairs.
func ncompare(a, b nval) (int, bool) {
	switch {
	case a.k == nStr && b.k == nStr:
		return strings.Compare(a.s, b.s), true
	case a.k == nNumber && b.k == nNumber:
		return a.rat().Cmp(b.rat()), true
	}
	return 0, false
}

// norder is the total order of sorting and group keys: null, false, true,
// numbers (equal numbers: integers first, then by literal), strings,
// JSON by text.
func norder(a, b nval) int {
	if a.k != b.k {
		return int(a.k) - int(b.k)
	}
	switch a.k {
	case nBool:
		if a.b == b.b {
			return 0
		}
		if !a.b {
			return -1
		}
		return 1
	case nNumber:
		if c := a.rat().Cmp(b.rat()); c != 0 {
			return c
		}
		if a.isInt != b.isInt {
			if a.isInt {
				return -1
			}
			return 1
		}
	}
	return strings.Compare(a.s, b.s)
}

// whole reports whether v, the value of a member at field depth depth, is
// kept as one JSON value by the columnar mapping.
func whole(v *dremel.Value, depth int) bool {
	switch v.Kind {
	case dremel.KindObject:
		return len(v.Members) == 0 || depth >= dremel.MaxFieldDepth
	case dremel.KindArray:
		return !uniform(v.Elems, depth)
	}
	return false
}

// uniform reports whether an array is a repeated field: not empty, and
// all elements strings, or numbers, or booleans, or nulls, or groups.
func uniform(elems []dremel.Value, depth int) bool {
	if len(elems) == 0 {
		return false
	}
	class := func(e *dremel.Value) int {
		if e.Kind == dremel.KindArray || whole(e, depth) {
			return -1
		}
		return int(e.Kind)
	}
	c0 := class(&elems[0])
	for i := range elems {
		if c := class(&elems[i]); c < 0 || c != c0 {
			return false
		}
	}
	return true
}

// values appends the values at path of the member value v at depth.
func values(dst []nval, v *dremel.Value, path []string, depth int) []nval {
	if whole(v, depth) {
		if len(path) == 0 {
			dst = append(dst, scalar(v))
		}
		return dst
	}
	switch v.Kind {
	case dremel.KindObject:
		if len(path) == 0 {
			return dst // a group, not a value
		}
		for i := range v.Members {
			if v.Members[i].Key == path[0] {
				dst = values(dst, &v.Members[i].Value, path[1:], depth+1)
			}
		}
		return dst
	case dremel.KindArray:
		for i := range v.Elems {
			dst = values(dst, &v.Elems[i], path, depth)
		}
		return dst
	}
	if len(path) == 0 {
		dst = append(dst, scalar(v))
	}
	return dst
}

// nrec is one record.
type nrec struct {
	time int64
	v    dremel.Value // the record with _source
}

func newNaiveRecord(source string, line []byte, timeNS int64) (nrec, error) {
	v, err := dremel.ParseEvent(string(table.AppendRecord(nil, source, line, timeNS)))
	return nrec{time: timeNS, v: v}, err
}

func (r *nrec) values(path []string) []nval { return values(nil, &r.v, path, 0) }

// naive runs queries. tok, if set, is a client without pii.
type naive struct {
	tok *Tokenizer
	cur *nrec // the record where is evaluated on; nil after stats
}

// present reports whether v has something at path: a value, or an object
// (a group) that is not kept whole.
func present(v *dremel.Value, path []string, depth int) bool {
	if len(path) == 0 {
		return true
	}
	if whole(v, depth) {
		return false
	}
	switch v.Kind {
	case dremel.KindObject:
		for i := range v.Members {
			if v.Members[i].Key == path[0] && present(&v.Members[i].Value, path[1:], depth+1) {
				return true
			}
		}
	case dremel.KindArray:
		for i := range v.Elems {
			if present(&v.Elems[i], path, depth) {
				return true
			}
		}
	}
	return false
}

func naivePII(path []string) bool {
	return slices.ContainsFunc(path, func(k string) bool { return strings.HasPrefix(k, "pii_") })
}

func (n *naive) token(v nval) nval {
	var e Val
	switch v.k {
	case nNull:
		e = Val{Kind: Null}
	case nBool:
		e = Val{Kind: Bool, B: v.b}
	case nStr:
		e = Val{Kind: Str, S: v.s}
	case nJSON:
		e = Val{Kind: JSON, S: v.s}
	case nNumber:
		if v.isInt {
			i, _ := strconv.ParseInt(v.s, 10, 64)
			e = Val{Kind: Int, I: i}
		} else {
			e = Val{Kind: Num, S: v.s}
		}
	}
	return nval{k: nStr, s: n.tok.Token(e)}
}

// cell is a field as one output value: null, its one value, or a JSON
// array of its values; personal data as a token.
func (n *naive) cell(r *nrec, path []string) nval {
	vs := r.values(path)
	var c nval
	switch len(vs) {
	case 0:
		return nval{k: nNull}
	case 1:
		c = vs[0]
	default:
		texts := make([]string, len(vs))
		for i, v := range vs {
			texts[i] = v.text()
		}
		c = nval{k: nJSON, s: "[" + strings.Join(texts, ",") + "]"}
	}
	if n.tok != nil {
		if naivePII(path) || naiveWrapped(path, c) {
			if c.k == nNull {
				return c // as the engine does: a null cell stays null
			}
			return n.token(c)
		}
		if c.k == nJSON {
			c.s = n.tokenJSON(c.s)
		}
	}
	return c
}

// naiveWrapped reports whether v at path is a wrapped line that may hold
// personal data: a _line mentioning pii_, or any _line_b64.
func naiveWrapped(path []string, v nval) bool {
	return len(path) == 1 && v.k == nStr && (path[0] == "_line" && strings.Contains(v.s, "pii_") || path[0] == "_line_b64")
}

// tokenJSON replaces the scalars under pii_ keys inside JSON text.
func (n *naive) tokenJSON(s string) string {
	v, err := dremel.ParseJSON(s)
	if err != nil {
		panic(err)
	}
	n.tokenTree(&v, false, 0, true)
	return string(dremel.AppendJSON(nil, v))
}

// tokenTree replaces personal data in a record tree as events show it: a
// whole-JSON value under a pii_ key is one token; inside whole JSON (raw)
// every scalar under a pii_ key is one.
func (n *naive) tokenTree(v *dremel.Value, inPII bool, depth int, raw bool) {
	if !raw && whole(v, depth) {
		if inPII {
			*v = dremel.Value{Kind: dremel.KindString, Str: n.token(scalar(v)).s}
			return
		}
		raw = true
	}
	switch v.Kind {
	case dremel.KindObject:
		for i := range v.Members {
			m := &v.Members[i]
			n.tokenTree(&m.Value, inPII || strings.HasPrefix(m.Key, "pii_"), depth+1, raw)
		}
	case dremel.KindArray:
		for i := range v.Elems {
			n.tokenTree(&v.Elems[i], inPII, depth, raw)
		}
	default:
		if inPII && v.Kind != dremel.KindNull {
			*v = dremel.Value{Kind: dremel.KindString, Str: n.token(scalar(v)).s}
		}
	}
}

// errRefused is the naive evaluator's verdict that a client without pii
// may not run the query.
var errRefused = fmt.Errorf("naive: refused: personal data")

func isToken(v query.Value) bool {
	if v.Kind != query.String || len(v.Str) != 36 || !strings.HasPrefix(v.Str, "pii:") {
		return false
	}
	for _, c := range v.Str[4:] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// check refuses what a client without pii may not ask.
func (n *naive) check(q *query.Query) error {
	if n.tok == nil {
		return nil
	}
	var err error
	for _, c := range q.Where {
		query.Walk(c, func(c query.Cond) {
			switch c := c.(type) {
			case *query.Cmp:
				if naivePII(c.Field.Path) && (c.Op != query.Eq && c.Op != query.Ne || !isToken(c.Value)) {
					err = errRefused
				}
			case *query.In:
				if naivePII(c.Field.Path) && slices.ContainsFunc(c.Values, func(v query.Value) bool { return !isToken(v) }) {
					err = errRefused
				}
			case *query.Contains:
				if naivePII(c.Field.Path) {
					err = errRefused
				}
			case *query.Match:
				if naivePII(c.Field.Path) {
					err = errRefused
				}
			}
		})
	}
	if q.Stats != nil {
		for _, a := range q.Stats.Aggs {
			if a.Field != nil && naivePII(a.Field.Path) && a.Func != "count" && a.Func != "distinct" {
				err = errRefused
			}
		}
	}
	return err
}

// holdsOn evaluates c on a row whose values at a path get is.
func (n *naive) holdsOn(c query.Cond, get func(f query.Field) []nval) bool {
	any := func(f query.Field, ok func(v nval) bool) bool {
		return slices.ContainsFunc(get(f), ok)
	}
	switch c := c.(type) {
	case *query.And:
		for _, d := range c.Conds {
			if !n.holdsOn(d, get) {
				return false
			}
		}
		return true
	case *query.Or:
		for _, d := range c.Conds {
			if n.holdsOn(d, get) {
				return true
			}
		}
		return false
	case *query.Not:
		return !n.holdsOn(c.Cond, get)
	case *query.Exists:
		if n.cur != nil {
			return present(&n.cur.v, c.Field.Path, 0)
		}
		return len(get(c.Field)) > 0
	case *query.Cmp:
		lit := literalOf(c.Value)
		return any(c.Field, func(v nval) bool {
			r, ok := ncompare(v, lit)
			if !ok {
				return false
			}
			switch c.Op {
			case query.Eq:
				return r == 0
			case query.Ne:
				return r != 0
			case query.Lt:
				return r < 0
			case query.Le:
				return r <= 0
			case query.Gt:
				return r > 0
			}
			return r >= 0
		})
	case *query.Contains:
		return any(c.Field, func(v nval) bool { return v.k == nStr && strings.Contains(v.s, c.Value.Str) })
	case *query.Match:
		return any(c.Field, func(v nval) bool { return v.k == nStr && c.Re.MatchString(v.s) })
	case *query.In:
		return any(c.Field, func(v nval) bool {
			for _, l := range c.Values {
				if r, ok := ncompare(v, literalOf(l)); ok && r == 0 {
					return true
				}
			}
			return false
		})
	}
	panic(fmt.Sprintf("naive: condition %T", c))
}

func literalOf(v query.Value) nval {
	if v.Kind == query.String {
		return nval{k: nStr, s: v.Str}
	}
	return number(v.Text)
}

// nresult is what a query gives: rows in order, each as its text; rows of
// one tie group may come in any order, and only the first limit rows are
// returned.
type nresult struct {
	columns []string
	groups  [][]string // rows by tie group, in order
	limit   int
}

// run evaluates q over recs at now (ns).
func (n *naive) run(q *query.Query, recs []nrec, now int64, maxGroups int) (*nresult, error) {
	if err := n.check(q); err != nil {
		return nil, err
	}
	from, to := int64(0), int64(math.MaxInt64)
	if q.Since != nil {
		from = bound(q.Since, now)
	}
	if q.Until != nil {
		to = bound(q.Until, now)
	}
	var matched []*nrec
	for i := range recs {
		r := &recs[i]
		if r.time < from || r.time >= to {
			continue
		}
		get := func(f query.Field) []nval {
			vs := r.values(f.Path)
			if n.tok != nil {
				for i := range vs {
					if vs[i].k != nNull && (naivePII(f.Path) || naiveWrapped(f.Path, vs[i])) {
						vs[i] = n.token(vs[i])
					}
				}
			}
			return vs
		}
		ok := true
		n.cur = r
		for _, c := range q.Where {
			ok = ok && n.holdsOn(c, get)
		}
		n.cur = nil
		if ok {
			matched = append(matched, r)
		}
	}
	if q.Stats != nil {
		return n.stats(q, matched, maxGroups)
	}
	return n.raw(q, matched), nil
}

func bound(b *query.TimeBound, now int64) int64 {
	if b.Ago == 0 {
		return b.NS
	}
	return max(now-b.Ago.Nanoseconds(), 0)
}

func (n *naive) raw(q *query.Query, recs []*nrec) *nresult {
	type row struct {
		r    *nrec
		keys []nval
	}
	rows := make([]row, len(recs))
	for i, r := range recs {
		rows[i].r = r
		for _, k := range q.Sort {
			rows[i].keys = append(rows[i].keys, n.cell(r, k.Field.Path))
		}
	}
	// Sort keys in order, then newest first; what is left is a tie.
	cmp := func(a, b row) int {
		for i, k := range q.Sort {
			c := norder(a.keys[i], b.keys[i])
			if k.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return -cmp.Compare(a.r.time, b.r.time)
	}
	slices.SortStableFunc(rows, cmp)
	res := &nresult{limit: q.Limit}
	if res.limit < 0 {
		res.limit = 100
	}
	for _, f := range q.Fields {
		res.columns = append(res.columns, strings.Join(f.Path, "."))
	}
	for i, rw := range rows {
		var text string
		if len(q.Fields) > 0 {
			cells := make([]string, len(q.Fields))
			for j, f := range q.Fields {
				cells[j] = n.cell(rw.r, f.Path).text()
			}
			text = strings.Join(cells, " | ")
		} else {
			ev := rw.r.v
			if n.tok != nil {
				ev = cloneValue(ev)
				n.tokenTree(&ev, false, 0, false)
				for k := range ev.Members {
					m := &ev.Members[k]
					if m.Value.Kind == dremel.KindString && naiveWrapped([]string{m.Key}, nval{k: nStr, s: m.Value.Str}) {
						m.Value = dremel.Value{Kind: dremel.KindString, Str: n.token(nval{k: nStr, s: m.Value.Str}).s}
					}
				}
			}
			text = canonicalJSON(ev)
		}
		if i == 0 || cmp(rows[i-1], rw) != 0 {
			res.groups = append(res.groups, nil)
		}
		res.groups[len(res.groups)-1] = append(res.groups[len(res.groups)-1], text)
	}
	return res
}
func cloneValue(v dremel.Value) dremel.Value {
	switch v.Kind {
	case dremel.KindObject:
		ms := make([]dremel.Member, len(v.Members))
		for i, m := range v.Members {
			ms[i] = dremel.Member{Key: m.Key, Value: cloneValue(m.Value)}
		}
		v.Members = ms
	case dremel.KindArray:
		es := make([]dremel.Value, len(v.Elems))
		for i, e := range v.Elems {
			es[i] = cloneValue(e)
		}
		v.Elems = es
	}
	return v
}

// canonicalJSON prints v with the keys of every object sorted, so events
// compare as JSON values whatever the key order of their segment.
func canonicalJSON(v dremel.Value) string {
	var sortKeys func(v *dremel.Value)
	sortKeys = func(v *dremel.Value) {
		for i := range v.Members {
			sortKeys(&v.Members[i].Value)
		}
		for i := range v.Elems {
			sortKeys(&v.Elems[i])
		}
		slices.SortStableFunc(v.Members, func(a, b dremel.Member) int { return strings.Compare(a.Key, b.Key) })
	}
	v = cloneValue(v)
	sortKeys(&v)
	return string(dremel.AppendJSON(nil, v))
}

// nagg accumulates one aggregate of one group.
type nagg struct {
	rows int
	vals []nval
}

func (n *naive) stats(q *query.Query, recs []*nrec, maxGroups int) (*nresult, error) {
	s := q.Stats
	type group struct {
		keys []nval
		aggs []nagg
	}
	groups := map[string]*group{}
	for _, r := range recs {
		var keys []nval
		if s.Every > 0 {
			t := r.time - r.time%s.Every.Nanoseconds()
			keys = append(keys, number(strconv.FormatInt(t, 10)))
		}
		for _, f := range s.By {
			keys = append(keys, n.cell(r, f.Path))
		}
		var id strings.Builder
		for _, k := range keys {
			id.WriteString(k.id())
			id.WriteByte(0)
		}
		g := groups[id.String()]
		if g == nil {
			if len(groups) == maxGroups {
				return nil, ErrLimit
			}
			g = &group{keys: keys, aggs: make([]nagg, len(s.Aggs))}
			groups[id.String()] = g
		}
		for i, a := range s.Aggs {
			g.aggs[i].rows++
			if a.Field != nil {
				g.aggs[i].vals = append(g.aggs[i].vals, r.values(a.Field.Path)...)
			}
		}
	}
	if len(groups) == 0 && len(s.By) == 0 && s.Every == 0 {
		groups[""] = &group{aggs: make([]nagg, len(s.Aggs))} // one row over nothing
	}
	var rows [][]nval
	for _, g := range groups {
		row := slices.Clone(g.keys)
		for i, a := range s.Aggs {
			row = append(row, aggregate(a.Func, a.Field == nil, &g.aggs[i]))
		}
		rows = append(rows, row)
	}
	nkeys := len(s.By)
	if s.Every > 0 {
		nkeys++
	}
	slices.SortFunc(rows, func(a, b []nval) int {
		for i := range nkeys {
			if c := norder(a[i], b[i]); c != 0 {
				return c
			}
		}
		panic("naive: two groups with one key")
	})
	var cols []string
	for _, f := range s.Outputs() {
		cols = append(cols, strings.Join(f.Path, "."))
	}
	col := func(f query.Field) int {
		return slices.Index(cols, strings.Join(f.Path, "."))
	}
	if len(q.After) > 0 {
		rows = slices.DeleteFunc(rows, func(row []nval) bool {
			get := func(f query.Field) []nval {
				if v := row[col(f)]; v.k != nNull {
					return []nval{v}
				}
				return nil
			}
			for _, c := range q.After {
				if !n.holdsOn(c, get) {
					return true
				}
			}
			return false
		})
	}
	slices.SortStableFunc(rows, func(a, b []nval) int {
		for _, k := range q.Sort {
			c := norder(a[col(k.Field)], b[col(k.Field)])
			if k.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	res := &nresult{columns: cols, limit: q.Limit}
	if res.limit < 0 {
		res.limit = math.MaxInt
	}
	if len(q.Fields) > 0 {
		res.columns = nil
		for _, f := range q.Fields {
			res.columns = append(res.columns, strings.Join(f.Path, "."))
		}
	}
	for _, row := range rows {
		var cells []string
		if len(q.Fields) > 0 {
			for _, f := range q.Fields {
				cells = append(cells, row[col(f)].text())
			}
		} else {
			for _, v := range row {
				cells = append(cells, v.text())
			}
		}
		res.groups = append(res.groups, []string{strings.Join(cells, " | ")})
	}
	return res, nil
}

var permille = map[string]int64{"p50": 500, "p90": 900, "p95": 950, "p99": 990, "p999": 999}

func aggregate(fn string, plain bool, a *nagg) nval {
	var nums []nval
	for _, v := range a.vals {
		if v.k == nNumber {
			nums = append(nums, v)
		}
	}
	switch fn {
	case "count":
		if plain {
			return number(strconv.Itoa(a.rows))
		}
		return number(strconv.Itoa(len(a.vals)))
	case "distinct":
		set := map[string]bool{}
		for _, v := range a.vals {
			set[v.id()] = true
		}
		return number(strconv.Itoa(len(set)))
	case "sum", "avg":
		sum := new(big.Rat)
		allInt := true
		for _, v := range nums {
			sum.Add(sum, v.rat())
			allInt = allInt && v.isInt
		}
		if len(nums) == 0 {
			return nval{k: nNull} // doc.go: aggregates of nothing are null
		}
		if fn == "sum" {
			if allInt && sum.Num().IsInt64() {
				return number(sum.Num().String())
			}
			f, _ := sum.Float64()
			return floatNumber(f)
		}
		f, _ := sum.Float64()
		return floatNumber(f / float64(len(nums)))
	case "min", "max":
		var best *nval
		for i, v := range a.vals {
			if v.k != nNumber && v.k != nStr {
				continue
			}
			if best == nil || fn == "min" && norder(v, *best) < 0 || fn == "max" && norder(v, *best) > 0 {
				best = &a.vals[i]
			}
		}
		if best == nil {
			return nval{k: nNull}
		}
		return *best
	}
	if len(nums) == 0 {
		return nval{k: nNull}
	}
	slices.SortFunc(nums, norder)
	// Nearest rank: the smallest value with at least p‰ of the values at
	// or below it, in integers.
	p, ok := permille[fn]
	if !ok {
		panic("naive: aggregate " + fn)
	}
	rank := (p*int64(len(nums)) + 999) / 1000
	return nums[max(rank, 1)-1]
}

// floatNumber prints a computed number: whole numbers below 2^53 without
// exponent or fraction, others in the shortest form that reads back. It is
// not an integer value even when whole: sort puts 3 before a computed 3.
func floatNumber(f float64) nval {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nval{k: nNull}
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return nval{k: nNumber, s: strconv.FormatFloat(f, 'f', -1, 64), isInt: false}
	}
	return nval{k: nNumber, s: strconv.FormatFloat(f, 'g', -1, 64)}
}
