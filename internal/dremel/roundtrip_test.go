package dremel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// randJSON returns a random JSON value, biased towards what breaks naive
// shredders: few keys (so types collide), nested and repeated groups,
// empty and mixed arrays, nulls, and numbers that are not int64s.
func randJSON(r *rand.Rand, depth int) string {
	keys := []string{"a", "b", "c", "time_ns", "x.y", `q"\`, ""}
	scalars := []string{`"s"`, `""`, `"é\n\u0001"`, `"\ud83d\ude00"`, `0`, `7`, `-12`, `-0`, `1.50`, `1e3`,
		`18446744073709551616`, `9223372036854775807`, `-9223372036854775808`, `true`, `false`, `null`}
	k := r.IntN(10)
	if depth > 4 {
		k = 0
	}
	switch {
	case k < 5:
		return scalars[r.IntN(len(scalars))]
	case k < 7:
		n := r.IntN(4)
		var b strings.Builder
		b.WriteByte('{')
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%q:%s", keys[r.IntN(len(keys))], randJSON(r, depth+1))
		}
		b.WriteByte('}')
		return b.String()
	default:
		n := r.IntN(4)
		same := r.IntN(3) > 0
		first := randJSON(r, depth+1)
		var b strings.Builder
		b.WriteByte('[')
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			if same && !strings.HasPrefix(first, "{") && !strings.HasPrefix(first, "[") {
				b.WriteString(first)
			} else {
				b.WriteString(randJSON(r, depth+1))
			}
		}
		b.WriteByte(']')
		return b.String()
	}
}

func randEvent(r *rand.Rand) string {
	for {
		s := randJSON(r, 0)
		if strings.HasPrefix(s, "{") {
			return s
		}
	}
}

// jsonEqual reports whether a and b are equal as JSON values, by
// encoding/json (numbers compared by their text).
func jsonEqual(t testing.TB, a, b string) bool {
	t.Helper()
	dec := func(s string) any {
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("decode %q: %v", s, err)
		}
		return v
	}
	return reflect.DeepEqual(dec(a), dec(b))
}

// roundTrip shreds lines, assembles them back (directly and through the
// text form of the columns) and reports the first difference.
func roundTrip(t testing.TB, lines []string) {
	t.Helper()
	var recs []Value
	for _, l := range lines {
		v, err := ParseEvent(l)
		if err != nil {
			t.Fatalf("parse %q: %v", l, err)
		}
		recs = append(recs, v)
	}
	s, cols, err := Shred("", recs)
	if err != nil {
		t.Fatal(err)
	}
	ptrs := make([]*Column, len(cols))
	for i := range cols {
		ptrs[i] = &cols[i]
	}
	check := func(how string, leaves []*Field, cs []*Column) {
		var got []string
		err := Assemble(leaves, cs, len(lines), func(v Value) error {
			got = append(got, string(AppendJSON(nil, v)))
			return nil
		})
		if err != nil {
			t.Fatalf("%s: assemble %q: %v", how, lines, err)
		}
		for i := range lines {
			if !jsonEqual(t, got[i], lines[i]) {
				t.Fatalf("%s: record %d:\n got %s\nwant %s\nschema:\n%s", how, i, got[i], lines[i], s)
			}
		}
		// Some records only: the others are stepped over.
		for k := 1; k <= 3; k++ {
			var some []int
			err := AssembleSome(leaves, cs, len(lines), func(i int) bool { return i%k == k-1 }, func(i int, v Value) error {
				some = append(some, i)
				if j := string(AppendJSON(nil, v)); j != got[i] {
					t.Fatalf("%s: record %d alone:\n got %s\nwant %s", how, i, j, got[i])
				}
				return nil
			})
			if err != nil {
				t.Fatalf("%s: assemble every %dth of %q: %v", how, k, lines, err)
			}
			if want := len(lines) / k; len(some) != want {
				t.Fatalf("%s: every %dth record: %d records, want %d", how, k, len(some), want)
			}
		}
	}
	check("direct", s.Leaves, ptrs)

	// Through `store shred` / `store assemble` text, when there are columns
	// (without any, the text has no lines and cannot count records).
	if len(s.Leaves) == 0 {
		return
	}
	var text []byte
	for i, leaf := range s.Leaves {
		text = AppendColumnLine(text, leaf, &cols[i])
	}
	var cls []*ColumnLine
	for _, l := range bytes.Split(bytes.TrimSuffix(text, []byte("\n")), []byte("\n")) {
		cl, err := ParseColumnLine(string(l))
		if err != nil {
			t.Fatalf("parse column line %s: %v", l, err)
		}
		cls = append(cls, cl)
	}
	s2, idx, err := SchemaOf(cls)
	if err != nil {
		t.Fatal(err)
	}
	cs := make([]*Column, len(s2.Leaves))
	for i, j := range idx {
		cs[j] = &cls[i].Column
	}
	check("text", s2.Leaves, cs)
}

func TestRoundTripTable(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
	}{
		{"empty records", []string{`{}`, `{}`}},
		{"type per column", []string{`{"a":1}`, `{"a":"x"}`, `{"a":1.5}`, `{"a":null}`, `{"a":true}`, `{"a":{"b":1}}`, `{"a":[1,2]}`}},
		{"empty containers", []string{`{"a":{}}`, `{"a":[]}`, `{"a":[[]]}`, `{"a":[{}]}`, `{"a":[{},{"b":1}]}`}},
		{"mixed arrays", []string{`{"a":[1,"x",null]}`, `{"a":[1,2.5]}`, `{"a":[null,null]}`, `{"a":[[1],[2,3]]}`}},
		{"scalar and array of it", []string{`{"a":[1]}`, `{"a":1}`, `{"a":[{"b":[1]}]}`, `{"a":{"b":1}}`}},
		{"number literals", []string{`{"n":-0}`, `{"n":1E+2}`, `{"n":123456789012345678901234567890}`, `{"n":-9223372036854775808}`}},
		{"keys", []string{`{"a.b":1,"a":{"b":2},"":{"":3},"\\.":4}`}},
		{"duplicate keys", []string{`{"a":1,"b":2,"a":"x"}`}},
		{"unicode", []string{`{"s":"\u00e9\ud83d\ude00\t\"\\\u0000"}`, "{\"s\":\"\xff\"}"}},
		{"keys of invalid UTF-8", []string{"{\"\xd6\xd6\":\"0\",\"\xae\xae\":0,\"\xff\":{\"\xfe\":1}}"}},
		{"sparse", []string{`{"a":{"b":{"c":1}}}`, `{"a":{"x":2}}`, `{"z":1}`}},
		{"repeated groups", []string{`{"g":[{"a":1},{"b":[1,2]},{"a":3,"b":[4]}]}`, `{"g":[{"h":[{"i":1},{"j":2}]}]}`}},
		{"deep", []string{strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)}},
		{"deep arrays", []string{`{"a":` + strings.Repeat(`[{"a":`, 20) + "1" + strings.Repeat("}]", 20) + "}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { roundTrip(t, tt.lines) })
	}
}

// TestKeysOfInvalidUTF8: keys that differ only in bytes of invalid UTF-8
// print alike, so they are one key, and the last value wins.
func TestKeysOfInvalidUTF8(t *testing.T) {
	v, err := ParseEvent("{\"\xd6\xd6\":\"0\",\"a\":1,\"\xae\xae\":0,\"\ufffd\":2}")
	if err != nil {
		t.Fatal(err)
	}
	got := string(AppendJSON(nil, v))
	if want := "{\"a\":1,\"\ufffd\ufffd\":0,\"\ufffd\":2}"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		lines := make([]string, 1+r.IntN(8))
		for i := range lines {
			lines[i] = randEvent(r)
		}
		roundTrip(t, lines)
	}
}

// FuzzShredAssemble feeds newline-separated JSON objects through shredding
// and assembly; whatever parses must come back equal as JSON.
func FuzzShredAssemble(f *testing.F) {
	f.Add(paperR1 + "\n" + paperR2)
	r := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		f.Add(randEvent(r) + "\n" + randEvent(r))
	}
	f.Fuzz(func(t *testing.T, in string) {
		var lines []string
		for _, l := range strings.Split(in, "\n") {
			if _, err := ParseEvent(l); err == nil && json.Valid([]byte(l)) {
				lines = append(lines, l)
			}
		}
		if len(lines) > 0 {
			roundTrip(t, lines)
		}
	})
}

// FuzzParseJSON compares the parser with encoding/json.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{}`, `[1,2]`, `"\ud800"`, `1e5`, `{"a":{"a":1},"a":2}`, "\"\xff\"", ` null `, `[`, `01`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		v, err := ParseJSON(in)
		valid := json.Valid([]byte(in))
		if errors.Is(err, ErrTooDeep) {
			return
		}
		if (err == nil) != valid {
			t.Fatalf("ParseJSON(%q) error %v, encoding/json valid %v", in, err, valid)
		}
		if err == nil && !jsonEqual(t, string(AppendJSON(nil, v)), in) {
			t.Fatalf("ParseJSON(%q) printed as %s", in, AppendJSON(nil, v))
		}
	})
}

// FuzzAssembleCorrupt assembles arbitrary levels and values against the
// paper's schema: inconsistent columns must be an error, never a panic.
func FuzzAssembleCorrupt(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 1, 2, 0, 2, 2, 2, 2, 0}, uint8(6))
	f.Add([]byte{}, uint8(3))
	f.Fuzz(func(t *testing.T, levels []byte, nvals uint8) {
		s := documentSchema(t)
		cols := make([]*Column, len(s.Leaves))
		for i := range cols {
			c := &Column{}
			for j := i; j+1 < len(levels); j += 2 * len(cols) {
				c.R = append(c.R, levels[j]%4)
				c.D = append(c.D, levels[j+1]%4)
			}
			for range int(nvals) % 8 {
				c.Ints = append(c.Ints, 1)
				c.Strs = append(c.Strs, "x")
			}
			cols[i] = c
		}
		_ = Assemble(s.Leaves, cols, -1, func(Value) error { return nil })
		_ = Assemble([]*Field{s.Leaves[1], s.Leaves[4]}, []*Column{cols[1], cols[4]}, -1, func(Value) error { return nil })
		_ = AssembleSome(s.Leaves, cols, -1, func(i int) bool { return i%2 == 0 }, func(int, Value) error { return nil })
	})
}

func TestCanonicalInt(t *testing.T) {
	tests := []struct {
		in string
		n  int64
		ok bool
	}{
		{"0", 0, true}, {"-0", 0, false}, {"7", 7, true}, {"-12", -12, true}, {"01", 0, false},
		{"123456789012345678", 123456789012345678, true}, {"-123456789012345678", -123456789012345678, true},
		{"9223372036854775807", 9223372036854775807, true}, {"-9223372036854775808", -9223372036854775808, true},
		{"9223372036854775808", 0, false}, {"1e3", 0, false}, {"1.0", 0, false}, {"-", 0, false}, {"", 0, false},
		{"-9223372036854775809", 0, false}, {"9999999999999999999", 0, false}, {"-9999999999999999999", 0, false},
		{"10000000000000000000", 0, false}, {"1700000000123456789", 1700000000123456789, true},
		{"170000000012345678x", 0, false}, {"-0123", 0, false},
	}
	for _, tt := range tests {
		n, ok := canonicalInt(tt.in)
		if ok != tt.ok || (ok && n != tt.n) {
			t.Errorf("canonicalInt(%q) = %d, %v; want %d, %v", tt.in, n, ok, tt.n, tt.ok)
		}
	}
}
