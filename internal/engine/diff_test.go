package engine

// The differential test: random events, random queries, the engine against
// the naive evaluator of naive_test.go.
//
// Order: a result is a list of tie groups (nresult in naive_test.go). Stats rows
// are totally ordered (group keys are distinct and sort is stable over
// them); raw events are ordered by the sort keys and then newest first,
// and events equal in all of that may come in any order, so within a tie
// group rows compare as multisets, and a group the limit cuts must give a
// sub-multiset.
//
// Data shapes: the generated events keep numbers small and sums exact
// (integers below 2^31, fractions in eighths), because float sums depend
// on the order of addition and int64 overflow on the order of the ints;
// script tests cover those. Nesting stays far below dremel.MaxFieldDepth.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"stele/internal/dremel"
	"stele/internal/eventgen"
	"stele/internal/ingest"
	"stele/internal/query"
	"stele/internal/segment"
	"stele/internal/table"
)

var (
	diffSeed    = flag.Uint64("diff.seed", 0, "seed of the differential test (0: from the clock)")
	diffSets    = flag.Int("diff.sets", 40, "data sets of the differential test")
	diffQueries = flag.Int("diff.queries", 40, "queries per data set")
)

// diffBase is the time of the first generated event; diffNow is "now".
const (
	diffBase = int64(1_767_225_600_000_000_000)
	diffNow  = diffBase + 700e9
)

// line is one stored line and the time the store gave it.
type line struct {
	text string
	time int64
}

// genEvents makes a random small data set: own events from a small
// vocabulary, and sometimes eventgen's realistic ones.
func genEvents(rng *rand.Rand) []line {
	n := rng.IntN(60)
	var out []line
	if rng.IntN(4) == 0 {
		g := eventgen.New(eventgen.Config{Seed: rng.Uint64(), Start: time.Unix(0, diffBase), Interval: 10 * time.Second, Malformed: 0.1})
		var buf []byte
		for i := range n {
			buf = g.Append(buf[:0])
			t := diffBase + int64(i)*10e9
			if v, err := dremel.ParseEvent(string(buf)); err == nil {
				for _, m := range v.Members {
					if m.Key == "time_ns" && m.Value.Kind == dremel.KindNumber {
						if ns, err := strconv.ParseInt(m.Value.Str, 10, 64); err == nil {
							t = ns
						}
					}
				}
			}
			out = append(out, line{strings.TrimSuffix(string(buf), "\n"), t})
		}
		return out
	}
	for range n {
		t := diffBase + rng.Int64N(600)*1e9
		if rng.IntN(4) == 0 {
			t += rng.Int64N(1e9)
		}
		out = append(out, line{genEvent(rng, t), t})
	}
	return out
}

var (
	vocabStr = []string{"a", "b", "ab", "Ba", "abc", "x y", "", "é", "a\"q", "1"}
	vocabNum = []string{"0", "1", "2", "3", "-1", "7", "10", "0.5", "5e-1", "0.50", "1.0", "2.25", "-0.125", "1e1", "-0"}
)

func genEvent(rng *rand.Rand, t int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"time_ns":%d`, t)
	for _, k := range []string{"s", "n", "f", "b", "z", "m", "o", "arr", "tags", "pii_uid", "pii_o", "level"} {
		if rng.IntN(10) < 3 {
			continue
		}
		fmt.Fprintf(&b, `,%q:`, k)
		switch k {
		case "s", "level":
			b.WriteString(genStr(rng))
		case "n":
			b.WriteString(strconv.Itoa(rng.IntN(25) - 3))
		case "f":
			b.WriteString(vocabNum[rng.IntN(len(vocabNum))])
		case "b":
			b.WriteString(strconv.FormatBool(rng.IntN(2) == 0))
		case "z":
			b.WriteString("null")
		case "m":
			b.WriteString(genScalar(rng))
		case "o":
			fmt.Fprintf(&b, `{"k":%s,"v":%d`, genStr(rng), rng.IntN(5))
			if rng.IntN(2) == 0 {
				fmt.Fprintf(&b, `,"pii_e":%s`, genStr(rng))
			}
			if rng.IntN(2) == 0 {
				fmt.Fprintf(&b, `,"d":{"e":%s}`, genScalar(rng))
			}
			b.WriteString("}")
		case "arr":
			b.WriteString(genArray(rng))
		case "tags":
			var tags []string
			for range rng.IntN(4) + 1 {
				tags = append(tags, genStr(rng))
			}
			b.WriteString("[" + strings.Join(tags, ",") + "]")
		case "pii_uid":
			if rng.IntN(5) == 0 {
				b.WriteString(strconv.Itoa(rng.IntN(3)))
			} else {
				fmt.Fprintf(&b, `"u%d"`, rng.IntN(5))
			}
		case "pii_o":
			fmt.Fprintf(&b, `{"name":%s,"ids":[%d,%d]}`, genStr(rng), rng.IntN(3), rng.IntN(3))
		}
	}
	b.WriteString("}")
	return b.String()
}

func genStr(rng *rand.Rand) string {
	return string(dremel.AppendString(nil, vocabStr[rng.IntN(len(vocabStr))]))
}

func genScalar(rng *rand.Rand) string {
	switch rng.IntN(6) {
	case 0, 1:
		return genStr(rng)
	case 2, 3:
		return vocabNum[rng.IntN(len(vocabNum))]
	case 4:
		return strconv.FormatBool(rng.IntN(2) == 0)
	}
	return "null"
}

func genArray(rng *rand.Rand) string {
	var es []string
	switch rng.IntN(8) {
	case 0: // ints
		for range rng.IntN(4) + 1 {
			es = append(es, strconv.Itoa(rng.IntN(10)))
		}
	case 1: // ints and other numbers: one number column
		for range rng.IntN(4) + 1 {
			es = append(es, vocabNum[rng.IntN(len(vocabNum))])
		}
	case 2: // strings
		for range rng.IntN(3) + 1 {
			es = append(es, genStr(rng))
		}
	case 3: // mixed classes: kept whole
		for range rng.IntN(3) + 1 {
			es = append(es, genScalar(rng))
		}
	case 4: // objects: a repeated group
		for range rng.IntN(3) + 1 {
			e := fmt.Sprintf(`{"k":%s`, genStr(rng))
			if rng.IntN(2) == 0 {
				e += fmt.Sprintf(`,"v":%d`, rng.IntN(4))
			}
			if rng.IntN(3) == 0 {
				e += fmt.Sprintf(`,"pii_e":%s`, genStr(rng))
			}
			es = append(es, e+"}")
		}
	case 5: // nested arrays and objects with pii inside: kept whole
		es = append(es, fmt.Sprintf(`[%d]`, rng.IntN(3)), fmt.Sprintf(`{"pii_e":%s}`, genStr(rng)))
	case 6: // empty
	case 7: // an empty object among objects: kept whole
		es = append(es, `{}`, `{"k":"a"}`)
	}
	return "[" + strings.Join(es, ",") + "]"
}

// sources stores lines in the three ways the engine reads them.
func sources(t testing.TB, lines []line) map[string]Source {
	mem := func(ls []line) []ingest.Record {
		var rs []ingest.Record
		for _, l := range ls {
			rs = append(rs, ingest.Record{Source: "s1", TimeNS: l.time, Line: []byte(l.text)})
		}
		return rs
	}
	tb, err := table.Open(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	seg := func(ls []line) []*table.Segment {
		if len(ls) == 0 {
			return nil
		}
		w, err := tb.NewWriter(0)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			if err := w.Add("s1", []byte(l.text), l.time); err != nil {
				t.Fatal(err)
			}
		}
		s, err := w.Close()
		if err != nil {
			t.Fatal(err)
		}
		return []*table.Segment{s}
	}
	half, third := len(lines)/2, len(lines)/3
	// Many small segments: enough blocks for stats to spread them over
	// workers (parallelMin), whose results must merge to the same answer.
	var many []*table.Segment
	for i := 0; i < len(lines); i += max(len(lines)/8, 1) {
		many = append(many, seg(lines[i:min(i+max(len(lines)/8, 1), len(lines))])...)
	}
	return map[string]Source{
		"memory":   {Mem: mem(lines)},
		"segments": {Segments: append(seg(lines[:third]), seg(lines[third:])...)},
		"mixed":    {Segments: seg(lines[:half]), Mem: mem(lines[half:])},
		"many":     {Segments: many},
		// The same segments, read through caches (layoutCaches).
		"many+cache":          {Segments: many},
		"segments+tiny-cache": {Segments: append(seg(lines[:third]), seg(lines[third:])...)},
	}
}

var layouts = []string{"memory", "segments", "mixed", "many", "many+cache", "segments+tiny-cache"}

// layoutCaches are the caches of the layouts read through one, shared by
// every test (each data set's files are others): one that keeps
// everything, so later queries hit what earlier ones read, and one so
// small that it keeps dropping entries.
var layoutCaches = map[string]*segment.Cache{
	"many+cache":          segment.NewCache(64 << 20),
	"segments+tiny-cache": segment.NewCache(24 << 10),
}

// collect is an Output that keeps rows as text, events as canonical JSON.
type collect struct {
	h      Header
	rows   []string
	parser dremel.Parser
}

func (c *collect) Begin(h Header) error { c.h = h; return nil }

func (c *collect) Row(vals []Val) error {
	cells := make([]string, len(vals))
	for i, v := range vals {
		cells[i] = string(AppendJSON(nil, v))
	}
	c.rows = append(c.rows, strings.Join(cells, " | "))
	return nil
}

func (c *collect) Event(line []byte) error {
	v, err := c.parser.ParseJSON(string(line))
	if err != nil {
		return fmt.Errorf("event %s: %v", line, err)
	}
	c.rows = append(c.rows, canonicalJSON(v))
	return nil
}

// diffOne runs text both ways and describes any difference.
func diffOne(text string, l string, src Source, recs []nrec, tok *Tokenizer, maxGroups int) string {
	q, err := query.Parse(text)
	if err != nil {
		return fmt.Sprintf("generated query does not parse: %v", err)
	}
	nv := naive{tok: tok}
	limit := maxGroups
	if limit == 0 {
		limit = DefaultMaxGroups
	}
	want, werr := nv.run(q, recs, diffNow, limit)
	// Parse again: the engine may not share the naive run's query.
	q, _ = query.Parse(text)
	var got collect
	_, gerr := Run(context.Background(), q, src, Options{Now: time.Unix(0, diffNow), Tokens: tok, MaxGroups: maxGroups, Cache: layoutCaches[l]}, &got)
	switch {
	case werr != nil && gerr == nil:
		return fmt.Sprintf("engine: no error, want %v; rows:\n%s", werr, strings.Join(got.rows, "\n"))
	case werr == errRefused:
		if !strings.Contains(gerr.Error(), "personal data") {
			return fmt.Sprintf("engine error %q, want a refusal about personal data", gerr)
		}
		return ""
	case werr != nil:
		if !errors.Is(gerr, werr) {
			return fmt.Sprintf("engine error %q, want %v", gerr, werr)
		}
		return ""
	case gerr != nil:
		return fmt.Sprintf("engine error %v", gerr)
	}
	if !slices.Equal(got.h.Columns, want.columns) && !(len(got.h.Columns) == 0 && len(want.columns) == 0) {
		return fmt.Sprintf("columns %q, want %q", got.h.Columns, want.columns)
	}
	if got.h.Raw != (len(want.columns) == 0) {
		return fmt.Sprintf("header Raw %v", got.h.Raw)
	}
	return matchRows(got.rows, want)
}

// matchRows checks rows against the tie groups of want and its limit.
func matchRows(rows []string, want *nresult) string {
	var all []string
	for _, g := range want.groups {
		all = append(all, g...)
	}
	describe := func(msg string) string {
		return fmt.Sprintf("%s\ngot:\n  %s\nwant (tie groups split by ---, limit %d):\n  %s", msg,
			strings.Join(rows, "\n  "), want.limit, strings.Join(joinGroups(want.groups), "\n  "))
	}
	if n := min(len(all), want.limit); len(rows) != n {
		return describe(fmt.Sprintf("%d rows, want %d", len(rows), n))
	}
	i := 0
	for _, g := range want.groups {
		if i == len(rows) {
			break
		}
		n := min(len(g), len(rows)-i)
		left := slices.Clone(g)
		for _, r := range rows[i : i+n] {
			k := slices.Index(left, r)
			if k < 0 {
				return describe(fmt.Sprintf("row %d: %s is not among its tie group", i, r))
			}
			left = slices.Delete(left, k, k+1)
			i++
		}
	}
	return ""
}

func joinGroups(gs [][]string) []string {
	var out []string
	for i, g := range gs {
		if i > 0 && (len(g) > 1 || len(gs[i-1]) > 1) {
			out = append(out, "---")
		}
		out = append(out, g...)
	}
	return out
}

// fieldInfo is what the query generator knows of the data.
type fieldInfo struct {
	paths   []string          // every path with a value or a group, as query text
	samples map[string][]nval // values seen at each path
}

func surveyFields(recs []nrec) *fieldInfo {
	fi := &fieldInfo{samples: map[string][]nval{}}
	seen := map[string]bool{}
	var walk func(v *dremel.Value, path []string, depth int)
	walk = func(v *dremel.Value, path []string, depth int) {
		p := strings.Join(path, ".")
		if !seen[p] {
			seen[p] = true
			fi.paths = append(fi.paths, p)
		}
		if whole(v, depth) {
			fi.samples[p] = append(fi.samples[p], scalar(v))
			return
		}
		switch v.Kind {
		case dremel.KindObject:
			for _, m := range v.Members {
				if !isIdent(m.Key) {
					continue
				}
				walk(&m.Value, append(slices.Clip(path), m.Key), depth+1)
			}
		case dremel.KindArray:
			for i := range v.Elems {
				walk(&v.Elems[i], path, depth)
			}
		default:
			fi.samples[p] = append(fi.samples[p], scalar(v))
		}
	}
	for i := range recs {
		for _, m := range recs[i].v.Members {
			if isIdent(m.Key) {
				walk(&m.Value, []string{m.Key}, 1)
			}
		}
	}
	slices.Sort(fi.paths)
	return fi
}

func isIdent(s string) bool {
	if s == "" || strings.ContainsAny(s[:1], "0123456789") {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	switch s {
	case "and", "or", "not", "in", "contains", "exists", "by", "every", "as", "asc", "desc":
		return false
	}
	return true
}

// qgen generates queries over the fields of a data set.
type qgen struct {
	rng *rand.Rand
	fi  *fieldInfo
	tok *Tokenizer
}

func (g *qgen) field() string {
	if len(g.fi.paths) == 0 || g.rng.IntN(12) == 0 {
		return []string{"nope", "o.nope", "s.x"}[g.rng.IntN(3)]
	}
	return g.fi.paths[g.rng.IntN(len(g.fi.paths))]
}

func (g *qgen) pick(vs []string) string { return vs[g.rng.IntN(len(vs))] }

func quote(s string) string { return string(dremel.AppendString(nil, s)) }

// literal is a value to compare f with: usually one it holds.
func (g *qgen) literal(f string) string {
	ss := g.fi.samples[f]
	if len(ss) > 0 && g.rng.IntN(4) > 0 {
		v := ss[g.rng.IntN(len(ss))]
		if naivePII(strings.Split(f, ".")) && g.tok != nil && g.rng.IntN(5) > 0 {
			return quote((&naive{tok: g.tok}).token(v).s)
		}
		switch v.k {
		case nStr:
			return quote(v.s)
		case nNumber:
			return v.s
		}
	}
	if g.rng.IntN(2) == 0 {
		return g.pick(vocabNum)
	}
	return quote(g.pick(vocabStr))
}

func (g *qgen) str(f string) string {
	var ss []string
	for _, v := range g.fi.samples[f] {
		if v.k == nStr {
			ss = append(ss, v.s)
		}
	}
	if len(ss) > 0 && g.rng.IntN(3) > 0 {
		s := g.pick(ss)
		i := g.rng.IntN(len(s) + 1)
		j := i + g.rng.IntN(len(s)-i+1)
		return s[i:j]
	}
	return g.pick(vocabStr)
}

func (g *qgen) cond(depth int) string {
	if depth < 3 {
		switch g.rng.IntN(8) {
		case 0:
			return "not " + g.cond(depth+1)
		case 1:
			return "(" + g.cond(depth+1) + " and " + g.cond(depth+1) + ")"
		case 2:
			return "(" + g.cond(depth+1) + " or " + g.cond(depth+1) + ")"
		case 3:
			return g.cond(depth+1) + " or " + g.cond(depth+1) + " and " + g.cond(depth+1)
		}
	}
	f := g.field()
	switch g.rng.IntN(10) {
	case 0:
		return "exists " + f
	case 1:
		return f + " contains " + quote(g.str(f))
	case 2:
		pats := []string{"^a", "b$", "(?i)^B", "a|y", ".", "^$", "^" + regexpQuote(g.str(f))}
		return f + " ~ " + quote(g.pick(pats))
	case 3:
		vals := []string{g.literal(f)}
		for range g.rng.IntN(3) {
			vals = append(vals, g.literal(f))
		}
		return f + " in (" + strings.Join(vals, ", ") + ")"
	}
	return f + " " + g.pick([]string{"=", "!=", "<", "<=", ">", ">=", "=", "!="}) + " " + g.literal(f)
}

func regexpQuote(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// query returns the text of a random query.
func (g *qgen) query() string {
	var ls []string
	if g.rng.IntN(6) == 0 {
		ls = append(ls, "since "+g.pick([]string{"5m", "10m", "90s", strconv.FormatInt(diffBase+300e9, 10), "2026-01-01T00:05:00Z"}))
	}
	if g.rng.IntN(8) == 0 {
		ls = append(ls, "until "+g.pick([]string{"2m", strconv.FormatInt(diffBase+400e9, 10)}))
	}
	for range g.rng.IntN(3) {
		ls = append(ls, "where "+g.cond(0))
	}
	if g.rng.IntN(2) == 0 {
		return strings.Join(append(ls, g.stats()...), "\n")
	}
	if g.rng.IntN(3) == 0 {
		var keys []string
		for range g.rng.IntN(2) + 1 {
			keys = append(keys, g.field()+g.pick([]string{"", " asc", " desc"}))
		}
		ls = append(ls, "sort "+strings.Join(keys, ", "))
	}
	if g.rng.IntN(2) == 0 {
		ls = append(ls, "limit "+strconv.Itoa(g.rng.IntN(12)+1))
	}
	if g.rng.IntN(3) == 0 {
		var fs []string
		for range g.rng.IntN(3) + 1 {
			f := g.field()
			if !slices.Contains(fs, f) {
				fs = append(fs, f)
			}
		}
		ls = append(ls, "fields "+strings.Join(fs, ", "))
	}
	return strings.Join(ls, "\n")
}

func (g *qgen) stats() []string {
	var by []string
	for range g.rng.IntN(3) {
		f := g.field()
		if !slices.Contains(by, f) && f != "time_ns" {
			by = append(by, f)
		}
	}
	outs := slices.Clone(by)
	every := ""
	if g.rng.IntN(3) == 0 {
		every = " every " + g.pick([]string{"10s", "1m", "5m"})
		outs = append(outs, "time_ns")
	}
	var aggs []string
	for i := range g.rng.IntN(3) + 1 {
		fn := g.pick(query.Funcs)
		a, name := fn, fn
		if fn != "count" || g.rng.IntN(2) == 0 {
			f := g.field()
			if f == "time_ns" && (fn == "sum" || fn == "avg") {
				f = "n" // float sums of such ints depend on the order of addition
			}
			a = fn + "(" + f + ")"
			name = query.DefaultName(fn, &query.Field{Path: strings.Split(f, ".")})
		}
		if slices.Contains(outs, name) || g.rng.IntN(8) == 0 {
			name = fmt.Sprintf("x%d", i)
			a += " as " + name
		}
		outs = append(outs, name)
		aggs = append(aggs, a)
	}
	st := "stats " + strings.Join(aggs, ", ")
	if len(by) > 0 {
		st += " by " + strings.Join(by, ", ")
	}
	ls := []string{st + every}
	out := func() string { return outs[g.rng.IntN(len(outs))] }
	for range g.rng.IntN(2) {
		o := out()
		var c string
		switch g.rng.IntN(4) {
		case 0:
			c = "exists " + o
		case 1:
			c = "not " + o + " = " + g.pick(vocabNum)
		default:
			c = o + " " + g.pick([]string{"=", "!=", "<", "<=", ">", ">="}) + " " + g.pick(append([]string{`"a"`}, vocabNum...))
		}
		ls = append(ls, "where "+c)
	}
	if g.rng.IntN(2) == 0 {
		var keys []string
		for range g.rng.IntN(2) + 1 {
			o := out()
			if !slices.ContainsFunc(keys, func(k string) bool { return strings.Fields(k)[0] == o }) {
				keys = append(keys, o+g.pick([]string{"", " asc", " desc"}))
			}
		}
		ls = append(ls, "sort "+strings.Join(keys, ", "))
	}
	if g.rng.IntN(3) == 0 {
		ls = append(ls, "limit "+strconv.Itoa(g.rng.IntN(5)+1))
	}
	if g.rng.IntN(4) == 0 {
		var fs []string
		for range g.rng.IntN(2) + 1 {
			if o := out(); !slices.Contains(fs, o) {
				fs = append(fs, o)
			}
		}
		ls = append(ls, "fields "+strings.Join(fs, ", "))
	}
	return ls
}

func TestDifferential(t *testing.T) {
	seed := *diffSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	sets, perSet := *diffSets, *diffQueries
	if testing.Short() {
		sets = max(sets/4, 1)
	}
	t.Logf("seed %d (rerun with -diff.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	tok := NewTokenizer([]byte("differential-test-secret"))
	queries, failures, redrawn := 0, 0, 0
	for set := range sets {
		lines := genEvents(rng)
		recs := naiveRecords(t, lines)
		srcs := sources(t, lines)
		var client *Tokenizer
		if set%2 == 1 {
			client = tok
		}
		g := &qgen{rng: rng, fi: surveyFields(recs), tok: client}
		for range perSet {
			text := g.query()
			for {
				// The generator does not know every rule of the parser
				// (e.g. outputs o and o.d.e overlap); draw again.
				if _, err := query.Parse(text); err == nil {
					break
				}
				redrawn++
				text = g.query()
			}
			maxGroups := 0
			if g.rng.IntN(10) == 0 {
				maxGroups = g.rng.IntN(4) + 1
			}
			queries++
			for _, l := range layouts {
				if msg := diffOne(text, l, srcs[l], recs, client, maxGroups); msg != "" {
					failures++
					small := shrink(t, lines, text, l, client, maxGroups)
					t.Errorf("seed %d, set %d, %s, pii client %v, max groups %d:\nquery:\n%s\n%s\nminimal data (%d of %d lines):\n%s",
						seed, set, l, client != nil, maxGroups, indent(text), msg, len(small), len(lines), indent(joinLines(small)))
					if failures >= 5 {
						t.Fatalf("stopping after %d failures", failures)
					}
					break
				}
			}
		}
	}
	t.Logf("%d queries over %d data sets, each in %d layouts (%d drawn again)", queries, sets, len(layouts), redrawn)
	for l, c := range layoutCaches {
		st := c.Stats()
		t.Logf("%s: %+v", l, st)
		if st.Hits == 0 {
			t.Errorf("%s: no hits", l)
		}
	}
}

func naiveRecords(t testing.TB, lines []line) []nrec {
	var recs []nrec
	for _, l := range lines {
		r, err := newNaiveRecord("s1", []byte(l.text), l.time)
		if err != nil {
			t.Fatalf("%s: %v", l.text, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// shrink drops lines while the query still fails in layout l.
func shrink(t *testing.T, lines []line, text, l string, tok *Tokenizer, maxGroups int) []line {
	fails := func(ls []line) bool {
		return diffOne(text, l, sources(t, ls)[l], naiveRecords(t, ls), tok, maxGroups) != ""
	}
	for tries := 0; tries < 300; {
		dropped := false
		for i := 0; i < len(lines); i++ {
			tries++
			cand := slices.Delete(slices.Clone(lines), i, i+1)
			if fails(cand) {
				lines, dropped = cand, true
				i--
			}
		}
		if !dropped {
			break
		}
	}
	return lines
}

func joinLines(ls []line) string {
	var b strings.Builder
	for _, l := range ls {
		fmt.Fprintf(&b, "%s   (store time %d)\n", l.text, l.time)
	}
	return b.String()
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ")
}
