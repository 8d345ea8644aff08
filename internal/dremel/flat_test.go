package dremel

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"stele/internal/eventgen"
)

// flatVsGeneral adds lines to a FlatShredder and checks, against
// ParseEvent and Shred, that it takes only valid events, and that what it
// makes of them (its columns, and its records given back as values) is
// what the general path makes. It returns how many lines it took.
func flatVsGeneral(t testing.TB, lines []string) int {
	t.Helper()
	var f FlatShredder
	var took []Value
	for _, l := range lines {
		ok := f.Add([]byte(l))
		v, err := ParseEvent(l)
		if ok && err != nil {
			t.Fatalf("flat took %q, which the parser refuses: %v", l, err)
		}
		if ok {
			took = append(took, v)
		}
	}
	if f.Rows() != len(took) {
		t.Fatalf("flat has %d rows, took %d lines", f.Rows(), len(took))
	}
	if len(took) == 0 {
		return 0
	}
	ws, wcols, werr := Shred("", took)

	// The same lines again, given back as values.
	var g FlatShredder
	for _, l := range lines {
		g.Add([]byte(l))
	}
	back := g.AppendValues(nil)
	bs, bcols, berr := Shred("", back)
	if werr != nil || berr != nil {
		t.Fatalf("shred: %v, of the values given back: %v", werr, berr)
	}
	if g.Rows() != 0 {
		t.Fatalf("AppendValues left %d rows", g.Rows())
	}

	s, cols, err := f.Columns("")
	if err != nil {
		t.Fatal(err)
	}
	sameColumns(t, "flat", s, cols, ws, wcols)
	sameColumns(t, "values given back", bs, bcols, ws, wcols)

	// The parsed values through AddValue: it must take every value that
	// Add took the line of (and may take more: repeated keys are gone).
	var h FlatShredder
	var vals []Value
	for _, l := range lines {
		if v, err := ParseEvent(l); err == nil && h.AddValue(&v) {
			vals = append(vals, v)
		}
	}
	if len(vals) < len(took) {
		t.Fatalf("AddValue took %d values, Add %d lines", len(vals), len(took))
	}
	flatShredsAs(t, "values", &h, vals)
	return len(took)
}

// flatShredsAs checks that f's columns are what Shred makes of vals, and
// returns them.
func flatShredsAs(t testing.TB, what string, f *FlatShredder, vals []Value) []Column {
	t.Helper()
	ws, wcols, err := Shred("", vals)
	if err != nil {
		t.Fatal(err)
	}
	s, cols, err := f.Columns("")
	if err != nil {
		t.Fatal(err)
	}
	sameColumns(t, what, s, cols, ws, wcols)
	return cols
}

func sameColumns(t testing.TB, what string, s *Schema, cols []Column, ws *Schema, wcols []Column) {
	t.Helper()
	if s.String() != ws.String() {
		t.Fatalf("%s: schema\n%s\nwant\n%s", what, s, ws)
	}
	norm := func(c Column) Column {
		if len(c.Strs) == 0 {
			c.Strs = nil
		}
		if len(c.Ints) == 0 {
			c.Ints = nil
		}
		if len(c.Bools) == 0 {
			c.Bools = nil
		}
		return c
	}
	for k := range wcols {
		if !reflect.DeepEqual(norm(cols[k]), norm(wcols[k])) {
			t.Fatalf("%s: column %s:\n%+v\nwant\n%+v", what, ColumnName(ws.Leaves[k].Path()), cols[k], wcols[k])
		}
	}
}

func TestFlatGenerated(t *testing.T) {
	g := eventgen.New(eventgen.Config{Seed: 7, Malformed: 0.05})
	var lines []string
	for range 5000 {
		l := g.Append(nil)
		lines = append(lines, string(l[:len(l)-1]))
	}
	n := flatVsGeneral(t, lines)
	if n < len(lines)*9/10 {
		t.Errorf("flat took %d of %d generated lines", n, len(lines))
	}
}

func TestFlatNasty(t *testing.T) {
	for _, tc := range []struct {
		lines []string
		took  int
	}{
		{[]string{`{}`, ` { } `, `{"a":1}`, "\t{\"a\" :\r\n\"x\" }\n"}, 4},
		{[]string{`{"a":1,"a":2}`, `{"a":1,"a":"x"}`, `{"b":1,"a":"x","a":null}`}, 0},
		{[]string{`{"a":1}`, `{"a":"x","a":1}`, `{"a":true}`, `{"a":false,"b":true,"a":1}`}, 2},
		{[]string{"{\"\xff\":1}", "{\"\xfe\":1,\"\xff\":2}", `{"\u0061":1,"a":2}`}, 0},
		{[]string{`{"a\u0062":"c\u00e9\n\"\ud800x\ud83d\ude00"}`, `{"ab":"\/"}`, `{"a\\b":"\\"}`}, 3},
		{[]string{"{\"s\":\"\xff\xfe\",\"t\":\"\xc3\"}", `{"a.b":1,"":2,"a\\.b":3}`}, 2},
		{[]string{`{"n":-0}`, `{"n":0}`, `{"n":1.5}`, `{"n":1e3}`, `{"n":1E+3}`, `{"n":-1.0e-7}`,
			`{"n":9223372036854775807}`, `{"n":9223372036854775808}`, `{"n":-9223372036854775808}`,
			`{"n":-9223372036854775809}`, `{"n":12345678901234567890123}`}, 11},
		{[]string{`{"n":01}`, `{"n":-}`, `{"n":1.}`, `{"n":.5}`, `{"n":1e}`, `{"n":+1}`, `{"n":1x}`}, 0},
		{[]string{`{"a":1,}`, `{"a" 1}`, `{"a":1`, `{"a":1}}`, `{"a":1} x`, `{a:1}`, `{"a":tru}`,
			`{"a":nul}`, `{"a":"x`, `{"a":"\x"}`, "{\"a\":\"\x01\"}", `{"a":"\u12"}`, `[1]`, `"x"`, ``, `{`, `{"a":1 "b":2}`}, 0},
		{[]string{`{"a":{"b":1}}`, `{"a":[1,2]}`, `{"a":{}}`, `{"a":[]}`, `{"a":1,"b":{"c":null}}`}, 0},
		{[]string{`{"t":true,"f":false,"z":null}`, `{"z":null,"t":false}`, `{"z":1,"t":"true"}`}, 3},
		{[]string{`{"a":"x"}`, `{"b":"y","a":"x"}`, `{"c":1,"b":"y"}`, `{"a":1,"c":1}`, `{"c":"z","a":"w"}`}, 5},
		// Names that need escapes: their raw bytes must not pass for them.
		{[]string{`{"k\"q":1}`, `{"k"q":1}`, `{"k\"q":2}`, `{"a\tb":1}`, "{\"a\tb\":1}", `{"a\tb":"x","k\"q":3}`}, 4},
	} {
		if got := flatVsGeneral(t, tc.lines); got != tc.took {
			t.Errorf("%q: flat took %d lines, want %d", tc.lines, got, tc.took)
		}
	}
}

// TestFlatRandom checks the fast path on random flat events built from
// nasty parts, several to a block.
func TestFlatRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 400 {
		lines := make([]string, 1+r.IntN(12))
		for i := range lines {
			lines[i] = randFlat(r)
		}
		flatVsGeneral(t, lines)
	}
}

func TestFlatManyKeys(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 40 {
		fmt.Fprintf(&b, `"k%d":%d,`, i, i)
	}
	wide := b.String()
	lines := []string{wide + `"z":1}`, wide + `"k3":1}`, wide + `"y":1,"y":2}`, wide + `"y":"s"}`}
	if got := flatVsGeneral(t, lines); got != 2 {
		t.Errorf("flat took %d lines, want 2", got)
	}
}

var flatKeys = []string{`"a"`, `"b"`, `"a"`, `"\u0061"`, `"c.d"`, `""`, "\"\xff\"", `"é"`, `"\ud800"`, `"time_ns"`, `"k\"q"`}

var flatValues = []string{`"x"`, `""`, `"a\nb"`, `"\u00e9\ud83d\ude00"`, `"\udc00"`, "\"\xff\"", `0`, `-0`, `7`,
	`-12`, `1.50`, `1e400`, `9223372036854775808`, `true`, `false`, `null`, `"1"`, `{}`, `[]`, `[1]`, `{"x":1}`}

func randFlat(r *rand.Rand) string {
	var b strings.Builder
	b.WriteString(randSpace(r) + "{")
	n := r.IntN(6)
	for i := range n {
		if i > 0 {
			b.WriteString(randSpace(r) + ",")
		}
		b.WriteString(randSpace(r) + flatKeys[r.IntN(len(flatKeys))] + randSpace(r) + ":" + randSpace(r))
		b.WriteString(flatValues[r.IntN(len(flatValues))])
	}
	b.WriteString(randSpace(r) + "}" + randSpace(r))
	s := b.String()
	if r.IntN(20) == 0 && len(s) > 0 { // a broken line now and then
		i := r.IntN(len(s))
		s = s[:i] + s[i+1:]
	}
	return s
}

func randSpace(r *rand.Rand) string {
	return []string{"", "", "", " ", "\t", "\r\n "}[r.IntN(6)]
}

// FuzzFlatShredder compares the fast path with the general one on the
// newline-separated lines of its input.
func FuzzFlatShredder(f *testing.F) {
	f.Add(`{"a":1,"b":"x"}` + "\n" + `{"b":"y","c":true,"a":1.5}`)
	f.Add(`{"a":1,"a":2}` + "\n" + "{\"\xff\":null}")
	r := rand.New(rand.NewPCG(7, 8))
	for range 20 {
		f.Add(randFlat(r) + "\n" + randFlat(r) + "\n" + randFlat(r))
	}
	f.Fuzz(func(t *testing.T, in string) {
		flatVsGeneral(t, strings.Split(in, "\n"))
	})
}

// TestFlatReuse shreds block after block with one FlatShredder, giving
// back each block's columns, as the segment writer does: each block must
// come out as Shred makes it.
func TestFlatReuse(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	g := eventgen.New(eventgen.Config{Seed: 11})
	var f FlatShredder
	for range 200 {
		var took []Value
		for range 1 + r.IntN(50) {
			var l string
			if r.IntN(3) == 0 {
				l = randFlat(r)
			} else {
				b := g.Append(nil)
				l = string(b[:len(b)-1])
			}
			if f.Add([]byte(l)) {
				v, err := ParseEvent(l)
				if err != nil {
					t.Fatalf("flat took %q: %v", l, err)
				}
				took = append(took, v)
			}
		}
		if len(took) == 0 {
			continue
		}
		f.Recycle(flatShredsAs(t, "flat", &f, took))
	}
}

// TestFlatValues checks AddValue, mixed with Add, against Shred: values
// parsed from random flat lines, and values no parser makes (repeated
// keys, keys of invalid UTF-8, JSON text).
func TestFlatValues(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	str := func(s string) Value { return Value{Kind: KindString, Str: s} }
	num := func(s string) Value { return Value{Kind: KindNumber, Str: s} }
	odd := []Value{
		{Kind: KindObject, Members: []Member{{"\xff", num("1")}, {"a", str("x")}}},
		{Kind: KindObject, Members: []Member{{"a", num("1")}, {"a", num("2")}}},
		{Kind: KindObject, Members: []Member{{"a", num("1")}, {"a", str("x")}}},
		{Kind: KindObject, Members: []Member{{"j", Value{Kind: KindRaw, Str: `[1,{"b":2}]`}}, {"n", Value{Kind: KindNull}}}},
		{Kind: KindObject, Members: []Member{{"o", Value{Kind: KindObject, Members: []Member{{"b", num("1")}}}}}},
		{Kind: KindObject, Members: []Member{{"e", Value{Kind: KindArray}}}},
		{Kind: KindObject},
		{Kind: KindObject, Members: []Member{{"n", num("-0")}, {"m", num("9223372036854775808")}, {"b", Value{Kind: KindBool, Bool: true}}}},
		{Kind: KindString, Str: "x"},
	}
	for range 1000 {
		var f FlatShredder
		var took []Value
		for range 1 + r.IntN(12) {
			if r.IntN(3) == 0 {
				v := odd[r.IntN(len(odd))]
				if f.AddValue(&v) {
					took = append(took, v)
				}
				continue
			}
			l := randFlat(r)
			if r.IntN(4) == 0 {
				l = "{\"\xff\":1,\"a\":\"y\"}"
			}
			pv, err := ParseEvent(l)
			if err != nil {
				continue
			}
			if r.IntN(2) == 0 {
				if f.AddValue(&pv) {
					took = append(took, pv)
				}
			} else if f.Add([]byte(l)) {
				took = append(took, pv)
			}
		}
		if len(took) == 0 {
			continue
		}
		flatShredsAs(t, "flat", &f, took)
	}
	for i, v := range odd {
		var f FlatShredder
		ok := f.AddValue(&v)
		if want := i != 1 && i != 2 && i != 4 && i != 5 && i != 8; ok != want {
			t.Errorf("AddValue(%v) = %v, want %v", AppendJSON(nil, v), ok, want)
		}
		if ok {
			back := f.AppendValues(nil)
			if len(back) != 1 || !reflect.DeepEqual(AppendJSON(nil, back[0]), AppendJSON(nil, v)) {
				t.Errorf("AddValue(%s) gives back %v", AppendJSON(nil, v), back)
			}
		}
	}
}
