package dedup

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"stele/internal/dremel"
	"stele/internal/eventgen"
	"stele/internal/segment"
)

func TestKeyOfEquivalent(t *testing.T) {
	for _, tc := range []struct{ name, a, b string }{
		{"key order", `{"a":1,"b":2}`, `{"b":2,"a":1}`},
		{"whitespace", `{"a":1,"b":[1,2]}`, " \t{ \"a\" :\n1 ,\r\"b\": [ 1 , 2 ] }\n"},
		{"unicode escape", `{"k":"A"}`, `{"k":"\u0041"}`},
		{"slash escape", `{"k":"/a/b"}`, `{"k":"\/a\/b"}`},
		{"escape in key", `{"Ab":1}`, `{"\u0041b":1}`},
		{"quote spellings", `{"k":"\""}`, `{"k":"\u0022"}`},
		{"control escapes", `{"k":"\n\t"}`, `{"k":"\u000a\u0009"}`},
		{"surrogate pair", `{"k":"😀"}`, `{"k":"\ud83d\ude00"}`},
		{"lone surrogate", `{"k":"\ufffd"}`, `{"k":"\ud800"}`},
		{"invalid utf-8", `{"k":"\ufffd\ufffd"}`, "{\"k\":\"\xff\xfe\"}"},
		{"nested reorder", `{"x":{"a":1,"b":{"c":2,"d":3}},"y":0}`, `{"y":0,"x":{"b":{"d":3,"c":2},"a":1}}`},
		{"objects in arrays", `{"l":[{"a":1,"b":2}]}`, `{"l":[{"b":2,"a":1}]}`},
		{"duplicate keys: last wins", `{"a":2,"b":1}`, `{"a":1,"b":1,"a":2}`},
		{"escaped duplicate", `{"a":2}`, `{"a":1,"\u0061":2}`},
		{"nested duplicate", `{"o":{"x":[1]}}`, `{"o":{"x":1,"x":[1]}}`},
		{"line's _source replaced", `{"t":1}`, `{"_source":"other","t":1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if a, b := KeyOf("web1", []byte(tc.a)), KeyOf("web1", []byte(tc.b)); a != b {
				t.Errorf("%s and %s differ", tc.a, tc.b)
			}
		})
	}
}

func TestKeyOfDistinct(t *testing.T) {
	for _, tc := range []struct {
		name    string
		srcA, a string
		srcB, b string
	}{
		{"source", "web1", `{"a":1}`, "web2", `{"a":1}`},
		{"value", "s", `{"a":1}`, "s", `{"a":2}`},
		{"key", "s", `{"a":1}`, "s", `{"b":1}`},
		{"number text", "s", `{"a":1}`, "s", `{"a":1.0}`},
		{"exponent", "s", `{"a":1000}`, "s", `{"a":1e3}`},
		{"array order", "s", `{"a":[1,2]}`, "s", `{"a":[2,1]}`},
		{"nesting", "s", `{"a":{"b":1}}`, "s", `{"a":{"b":{"b":1}}}`},
		{"array nesting", "s", `{"a":[[1],2]}`, "s", `{"a":[1,[2]]}`},
		{"member split", "s", `{"a":{"b":1,"c":2}}`, "s", `{"a":{"b":1},"c":2}`},
		{"string vs number", "s", `{"a":"1"}`, "s", `{"a":1}`},
		{"null vs missing", "s", `{"a":null,"b":1}`, "s", `{"b":1}`},
		{"empty object vs array", "s", `{"a":{}}`, "s", `{"a":[]}`},
		{"bool", "s", `{"a":true}`, "s", `{"a":false}`},
		{"key and value swap", "s", `{"a":"b"}`, "s", `{"b":"a"}`},
		{"members vs pair", "s", `{"a":1,"b":2}`, "s", `{"a":2,"b":1}`},
		{"quote in string", "s", `{"a":"x\",\"b\":\"y"}`, "s", `{"a":"x","b":"y"}`},
		{"line's _source is not the source", "s", `{"_source":"t","a":1}`, "t", `{"a":1}`},
		{"not an object, by source", "ab", `c`, "a", `bc`},
		{"not an object vs object", "s", `[1]`, "s", `{"0":1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if KeyOf(tc.srcA, []byte(tc.a)) == KeyOf(tc.srcB, []byte(tc.b)) {
				t.Errorf("%s %s and %s %s have one identity", tc.srcA, tc.a, tc.srcB, tc.b)
			}
		})
	}
}

// TestKeyOfStoredGivesKeyOf checks the promise by hand: the stored record
// holds "_source", its keys in another order and its strings re-escaped.
func TestKeyOfStoredGivesKeyOf(t *testing.T) {
	raw := `{"time_ns":5,"msg":"a\/b \u00e9","n":1.50,"o":{"y":1,"x":2}}`
	stored := `{"_source":"web1","o":{"x":2,"y":1},"n":1.50,"msg":"a/b é","time_ns":5}`
	if KeyOfStored([]byte(stored)) != KeyOf("web1", []byte(raw)) {
		t.Fatal("stored record has another identity")
	}
	if KeyOfStored([]byte(stored)) == KeyOf("web2", []byte(raw)) {
		t.Fatal("stored record has the identity of another source")
	}
}

// store renders line as the store keeps it: parsed, with "_source" added
// (replacing the line's own), and printed by dremel.
func store(t testing.TB, source string, line []byte) (dremel.Value, bool) {
	v, err := dremel.ParseEvent(string(line))
	if err != nil {
		return dremel.Value{}, false
	}
	ms := make([]dremel.Member, 0, len(v.Members)+1)
	for _, m := range v.Members {
		if m.Key != "_source" {
			ms = append(ms, m)
		}
	}
	v.Members = append(ms, dremel.Member{Key: "_source", Value: dremel.Value{Kind: dremel.KindString, Str: source}})
	return v, true
}

// TestRoundTripThroughSegment writes generated and random lines to a real
// segment and checks that every record read back has its line's identity.
func TestRoundTripThroughSegment(t *testing.T) {
	lines := testLines(t, 3000)
	path := filepath.Join(t.TempDir(), "x.seg")
	w, err := segment.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w.BlockRows = 500
	var want []Key
	var raws [][]byte
	for i, l := range lines {
		src := fmt.Sprintf("src-%d", i%3)
		v, ok := store(t, src, l)
		if !ok {
			continue
		}
		if err := w.Add(v); err != nil {
			t.Fatal(err)
		}
		want = append(want, KeyOf(src, l))
		raws = append(raws, l)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := segment.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for b := range f.Blocks {
		err := f.Assemble(b, nil, func(v dremel.Value) error {
			rendered := dremel.AppendJSON(nil, v)
			if got := KeyOfStored(rendered); got != want[n] {
				t.Errorf("record %d: identity changed in the round trip\nraw:    %s\nstored: %s", n, raws[n], rendered)
			}
			n++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n != len(want) || n < 2000 {
		t.Fatalf("read %d records, wrote %d", n, len(want))
	}
}

// TestFastPathMatchesParser compares the scanner with the parser-based
// path on every line both can hash.
func TestFastPathMatchesParser(t *testing.T) {
	for _, l := range testLines(t, 3000) {
		want, ok := slowKey("s", l, true)
		if got := KeyOf("s", l); ok && got != want {
			t.Errorf("fast and slow paths differ on %s", l)
		}
		if _, err := dremel.ParseEvent(string(l)); (err == nil) != ok {
			t.Errorf("slow path and parser disagree on %s", l)
		}
	}
}

func TestNeverAllocatesOnEvents(t *testing.T) {
	lines := benchLines(100)
	allocs := testing.AllocsPerRun(10, func() {
		for _, l := range lines {
			KeyOf("web-1", l)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per 100 events", allocs)
	}
}

func TestDeepNesting(t *testing.T) {
	for _, depth := range []int{maxDepth - 2, maxDepth - 1, maxDepth, maxDepth + 5, 100000} {
		line := []byte(`{"a":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + "}")
		_, err := dremel.ParseEvent(string(line))
		k := KeyOf("s", line)
		if (err == nil) != (k != rawKey("s", line, true)) {
			t.Errorf("depth %d: parser error %v, but identity byte-based = %v", depth, err, err != nil)
		}
		if err == nil {
			checkRoundTrip(t, line)
		}
	}
}

// checkRoundTrip checks the promise for one line through dremel's parser
// and printer (FuzzKeyOf cannot afford a segment per input).
func checkRoundTrip(t *testing.T, line []byte) {
	t.Helper()
	v, ok := store(t, "src", line)
	if !ok {
		return
	}
	rendered := dremel.AppendJSON(nil, v)
	if KeyOfStored(rendered) != KeyOf("src", line) {
		t.Fatalf("round trip changed the identity\nraw:    %q\nstored: %q", line, rendered)
	}
	if want, ok := slowKey("src", line, true); !ok || want != KeyOf("src", line) {
		t.Fatalf("fast and slow paths differ on %q", line)
	}
}

func FuzzKeyOf(f *testing.F) {
	for _, l := range seedLines(f) {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		KeyOf("src", line)
		KeyOfStored(line)
		checkRoundTrip(t, line)
	})
}

func seedLines(t testing.TB) [][]byte {
	fh, err := os.Open("testdata/lines.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out [][]byte
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		out = append(out, bytes.Clone(sc.Bytes()))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// testLines returns the seed lines, n generated events (some malformed)
// and n random JSON objects.
func testLines(t testing.TB, n int) [][]byte {
	out := seedLines(t)
	g := eventgen.New(eventgen.Config{Seed: 7, Malformed: 0.05})
	var buf []byte
	for range n {
		buf = g.Append(buf[:0])
		out = append(out, bytes.Clone(bytes.TrimSuffix(buf, []byte("\n"))))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range n {
		var j randJSON
		j.r = r
		j.object(0)
		out = append(out, j.b)
	}
	return out
}

// randJSON writes random JSON text with the spellings the canonical form
// must see through: whitespace, escapes, invalid UTF-8, duplicate keys.
type randJSON struct {
	r *rand.Rand
	b []byte
}

func (j *randJSON) space() {
	if j.r.IntN(4) == 0 {
		j.b = append(j.b, " \t\r\n"[j.r.IntN(4)])
	}
}

var randKeys = []string{"a", "b", "time_ns", "msg", "_source", "a.b", "é", `q"`, "", "long_key_name_here"}

func (j *randJSON) object(depth int) {
	j.b = append(j.b, '{')
	n := j.r.IntN(6)
	if depth == 0 {
		n++
	}
	for i := range n {
		if i > 0 {
			j.b = append(j.b, ',')
		}
		j.space()
		j.str(randKeys[j.r.IntN(len(randKeys))])
		j.space()
		j.b = append(j.b, ':')
		j.space()
		j.value(depth + 1)
		j.space()
	}
	j.b = append(j.b, '}')
}

func (j *randJSON) value(depth int) {
	k := j.r.IntN(10)
	if depth > 4 {
		k = j.r.IntN(6)
	}
	switch k {
	case 0:
		j.b = append(j.b, []string{"0", "1", "-0", "1.0", "1.50", "1e3", "1E+3", "-12", "12345678901234567890", "3.25e-2"}[j.r.IntN(10)]...)
	case 1:
		j.b = append(j.b, []string{"true", "false", "null"}[j.r.IntN(3)]...)
	case 2, 3, 4, 5:
		j.str(randText(j.r))
	case 6, 7:
		j.object(depth)
	default:
		j.b = append(j.b, '[')
		n := j.r.IntN(4)
		for i := range n {
			if i > 0 {
				j.b = append(j.b, ',')
			}
			j.space()
			j.value(depth + 1)
			j.space()
		}
		j.b = append(j.b, ']')
	}
}

func randText(r *rand.Rand) string {
	var sb strings.Builder
	for range r.IntN(8) {
		sb.WriteString([]string{"x", "é", "😀", "\x00", "\n", `"`, `\`, "/", "\u2028", "\xff", "\xe2\x82", "\ufffd", "abcdefghijkl"}[r.IntN(13)])
	}
	return sb.String()
}

// str writes s as a JSON string, spelling each character one of the ways
// JSON allows (raw, short escape, \u escape, surrogate pair).
func (j *randJSON) str(s string) {
	j.b = append(j.b, '"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		raw := s[i : i+size]
		i += size
		mustEscape := r < 0x20 || r == '"' || r == '\\'
		switch pick := j.r.IntN(3); {
		case r == utf8.RuneError && size == 1:
			j.b = append(j.b, raw...) // invalid UTF-8 only has a raw spelling
		case pick == 0 && !mustEscape:
			j.b = append(j.b, raw...)
		case pick == 1 && strings.ContainsRune("\"\\/\b\f\n\r\t", r):
			j.b = append(j.b, '\\', map[rune]byte{'"': '"', '\\': '\\', '/': '/', '\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't'}[r])
		case r > 0xffff:
			r1, r2 := utf16Pair(r)
			j.b = fmt.Appendf(j.b, `\u%04x\u%04X`, r1, r2)
		default:
			j.b = fmt.Appendf(j.b, `\u%04x`, r)
		}
	}
	j.b = append(j.b, '"')
}

func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}
