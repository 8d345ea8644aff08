package query

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"regexp/syntax"
	"strings"
	"testing"
	"time"

	"stele/internal/goldenfile"
)

// The script files under testdata/parse hold cases: query lines, a line
// "----", then the expected output up to a line "====" or the end of the
// file. The output is the canonical print of the query (with a "# stats
// rows:" line for stats, and a "# tree:" line for each compound condition)
// or the error message. go test -update rewrites the outputs.
const (
	caseSep   = "----\n"
	scriptSep = "====\n"
)

type scriptCase struct{ query, want string }

func readScript(t testing.TB, path string) []scriptCase {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []scriptCase
	for chunk := range strings.SplitSeq(string(b), "\n"+scriptSep) {
		if !strings.HasSuffix(chunk, "\n") {
			chunk += "\n"
		}
		query, want, ok := strings.Cut(chunk, "\n"+caseSep)
		if !ok {
			if query, ok = strings.CutPrefix(chunk, caseSep); !ok {
				t.Fatalf("%s: a case without a %q line: %q", path, strings.TrimSpace(caseSep), chunk)
			}
			query, want = "", query
		} else {
			query += "\n"
		}
		cases = append(cases, scriptCase{query, want})
	}
	return cases
}

// render is what a script file expects for query.
func render(query string) string {
	q, err := Parse(query)
	if err != nil {
		return err.Error() + "\n"
	}
	out := q.String()
	for _, c := range append(append([]Cond(nil), q.Where...), q.After...) {
		if _, leaf := leafField(c); !leaf {
			out += "# tree: " + tree(c) + "\n"
		}
	}
	if q.Stats != nil {
		var names []string
		for _, f := range q.Stats.Outputs() {
			names = append(names, f.String())
		}
		out += "# stats rows: " + strings.Join(names, ", ") + "\n"
	}
	return out
}

func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/parse/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			var out []string
			for _, c := range readScript(t, path) {
				got := render(c.query)
				out = append(out, c.query+caseSep+got)
				checkQuery(t, c.query)
			}
			goldenfile.Check(t, filepath.Join("parse", filepath.Base(path)), []byte(strings.Join(out, scriptSep)))
		})
	}
}

// checkQuery checks the properties every input must have: a parse error is
// a one-line *SyntaxError with a place in the query; a query prints to text
// that parses back to the same query.
func checkQuery(t testing.TB, text string) {
	t.Helper()
	q, err := Parse(text)
	if err != nil {
		var se *SyntaxError
		if !errors.As(err, &se) || q != nil {
			t.Fatalf("Parse(%q) = %v, %#v; want only a *SyntaxError", text, q, err)
		}
		lines := strings.Count(text, "\n") + 1
		if se.Line < 1 || se.Line > lines || se.Col < 1 || strings.ContainsAny(se.Msg, "\n\r") || se.Msg == "" {
			t.Fatalf("Parse(%q): bad error %q (line %d, column %d)", text, se.Msg, se.Line, se.Col)
		}
		return
	}
	printed := q.String()
	q2, err := Parse(printed)
	if err != nil {
		t.Fatalf("Parse(%q) printed as %q, which does not parse: %v", text, printed, err)
	}
	if again := q2.String(); again != printed {
		t.Fatalf("Parse(%q) printed as %q, then as %q", text, printed, again)
	}
	if a, b := strip(q), strip(q2); !reflect.DeepEqual(a, b) {
		t.Fatalf("Parse(%q) and Parse(%q) differ:\n%#v\n%#v", text, printed, a, b)
	}
}

// strip returns a copy of q without what printing does not keep: positions,
// stage lines, and compiled regexps (their patterns stay).
func strip(q *Query) *Query {
	v := reflect.New(reflect.TypeFor[Query]())
	v.Elem().Set(deepCopy(reflect.ValueOf(q).Elem()))
	return v.Interface().(*Query)
}

var (
	posType   = reflect.TypeFor[Pos]()
	linesType = reflect.TypeFor[StageLines]()
	reType    = reflect.TypeFor[*regexp.Regexp]()
)

func deepCopy(v reflect.Value) reflect.Value {
	switch {
	case v.Type() == posType || v.Type() == linesType || v.Type() == reType:
		return reflect.Zero(v.Type())
	}
	out := reflect.New(v.Type()).Elem()
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			p := reflect.New(v.Type().Elem())
			p.Elem().Set(deepCopy(v.Elem()))
			out.Set(p)
		}
	case reflect.Interface:
		if !v.IsNil() {
			out.Set(deepCopy(v.Elem()))
		}
	case reflect.Slice:
		if !v.IsNil() {
			s := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
			for i := range v.Len() {
				s.Index(i).Set(deepCopy(v.Index(i)))
			}
			out.Set(s)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			out.Field(i).Set(deepCopy(v.Field(i)))
		}
	default:
		out.Set(v)
	}
	return out
}

// tree prints a condition's structure with every node explicit.
func tree(c Cond) string {
	list := func(name string, cs []Cond) string {
		parts := make([]string, len(cs))
		for i, c := range cs {
			parts[i] = tree(c)
		}
		return name + "(" + strings.Join(parts, ", ") + ")"
	}
	switch c := c.(type) {
	case *Or:
		return list("or", c.Conds)
	case *And:
		return list("and", c.Conds)
	case *Not:
		return "not(" + tree(c.Cond) + ")"
	}
	return string(appendCond(nil, c, inNot))
}

func TestPrecedence(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`a = 1 or b = 2 and not c = 3`, `or(a = 1, and(b = 2, not(c = 3)))`},
		{`a = 1 and b = 2 or c = 3`, `or(and(a = 1, b = 2), c = 3)`},
		{`not a = 1 and b = 2`, `and(not(a = 1), b = 2)`},
		{`not (a = 1 and b = 2)`, `not(and(a = 1, b = 2))`},
		{`not not exists a`, `not(not(exists a))`},
		{`(a = 1 or b = 2) and c = 3`, `and(or(a = 1, b = 2), c = 3)`},
		{`a = 1 and (b = 2 and c = 3)`, `and(a = 1, b = 2, c = 3)`},
		{`(a = 1 or b = 2) or (c = 3 or d = 4)`, `or(a = 1, b = 2, c = 3, d = 4)`},
		{`((a = 1))`, `a = 1`},
		{`a = 1 or not (b = 2 or c = 3) and d in (1, 2)`, `or(a = 1, and(not(or(b = 2, c = 3)), d in (1, 2)))`},
		{`not a.b ~ "x" or exists c`, `or(not(a.b ~ "x"), exists c)`},
	} {
		q, err := Parse("where " + tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if got := tree(q.Where[0]); got != tt.want {
			t.Errorf("%s\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

func TestValues(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Value
	}{
		{`"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"`, Value{Kind: String, Str: "a\"\\/\b\f\n\r\té😀"}},
		{`"\ud800x"`, Value{Kind: String, Str: "\uFFFDx"}},
		{`"\udc00\ud800"`, Value{Kind: String, Str: "\uFFFD\uFFFD"}},
		{`"é日本"`, Value{Kind: String, Str: "é日本"}},
		{`42`, Value{Kind: Number, Text: "42", Float: 42, Int: 42, IsInt: true}},
		{`-0`, Value{Kind: Number, Text: "-0", Float: 0, Int: 0, IsInt: true}},
		{`-9223372036854775808`, Value{Kind: Number, Text: "-9223372036854775808", Float: -9223372036854775808, Int: -9223372036854775808, IsInt: true}},
		{`9223372036854775808`, Value{Kind: Number, Text: "9223372036854775808", Float: 9223372036854775808}},
		{`1.0`, Value{Kind: Number, Text: "1.0", Float: 1}},
		{`2E-3`, Value{Kind: Number, Text: "2E-3", Float: 0.002}},
		{`1e-400`, Value{Kind: Number, Text: "1e-400", Float: 0}},
	} {
		q, err := Parse("where x = " + tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		got := q.Where[0].(*Cmp).Value
		got.Pos = Pos{}
		if got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestTimeBound(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	q, err := Parse("since 2h\nuntil 2026-11-27T11:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	if q.Since.Ago != 2*time.Hour || q.Since.Resolve(now) != now.Add(-2*time.Hour).UnixNano() {
		t.Errorf("since: %+v resolves to %d", q.Since, q.Since.Resolve(now))
	}
	if q.Until.Ago != 0 || q.Until.Resolve(now) != now.Add(-time.Hour).UnixNano() {
		t.Errorf("until: %+v resolves to %d", q.Until, q.Until.Resolve(now))
	}
	if q.Since.Pos != (Pos{1, 7}) || q.Until.Pos != (Pos{2, 7}) || q.Lines.Until != 2 {
		t.Errorf("positions: %+v %+v %+v", q.Since.Pos, q.Until.Pos, q.Lines)
	}
}

func TestPositionsCountCharacters(t *testing.T) {
	_, err := Parse("where `é` = \"日本\" and `ü` >")
	var se *SyntaxError
	if !errors.As(err, &se) || se.Line != 1 || se.Col != 27 {
		t.Fatalf("got %v, want line 1, column 27", err)
	}
	_, err = Parse("\n\r\nwhere `ü` = \"x\" and\r\n")
	if !errors.As(err, &se) || se.Line != 3 || se.Col != 20 {
		t.Fatalf("got %v, want line 3, column 20", err)
	}
	q, err := Parse("# é\r\nwhere \"é\" = 1")
	if !errors.As(err, &se) || se.Line != 2 || se.Col != 7 || q != nil {
		t.Fatalf("got %v, want line 2, column 7", err)
	}
}

func TestLiterals(t *testing.T) {
	q, err := Parse(`where pii_uid = "alice" and x in (1, "b") or not pii_mail contains "@" or m ~ "^a"
stats count by pii_uid
where count > 2`)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	q.Literals(func(c Cond, f Field, v *Value) {
		seen = append(seen, f.String()+" "+string(appendValue(nil, *v)))
		if strings.HasPrefix(f.Path[0], "pii_") {
			if _, ok := c.(*Match); !ok {
				v.Str = "pii:00"
			}
		}
	})
	want := []string{`pii_uid "alice"`, `x 1`, `x "b"`, `pii_mail "@"`, `m "^a"`, `count 2`}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("Literals visited %q, want %q", seen, want)
	}
	if got := q.String(); !strings.Contains(got, `pii_uid = "pii:00"`) || !strings.Contains(got, `pii_mail contains "pii:00"`) {
		t.Errorf("replacing literals did not stick:\n%s", got)
	}
}

// TestLimits builds inputs too large to keep in script files; each must be
// refused with the given message, and a query just inside must pass.
func TestLimits(t *testing.T) {
	conds := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = "a = 1"
		}
		return "where " + strings.Join(parts, " and ")
	}
	values := func(n int) string { return "where a in (" + strings.Repeat("1, ", n-1) + "1)" }
	path := func(n int) string { return "where " + strings.Repeat("a.", n-1) + "a = 1" }
	list := func(stage string, n int, item func(int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = item(i)
		}
		return stage + " " + strings.Join(parts, ", ")
	}
	name := func(i int) string { return "f" + strings.Repeat("x", i) }
	for _, tt := range []struct {
		ok, bad string
		want    string
	}{
		{strings.Repeat("#", MaxQueryBytes), strings.Repeat("#", MaxQueryBytes+1), "line 1, column 1: the query is 65537 bytes; the limit is 65536"},
		{strings.Repeat("where a = 1\n", maxStages), strings.Repeat("where a = 1\n", maxStages+1), "line 65, column 1: more than 64 stages"},
		{"where " + strings.Repeat("(", maxDepth) + "a = 1" + strings.Repeat(")", maxDepth),
			"where " + strings.Repeat("(", maxDepth+1) + "a = 1" + strings.Repeat(")", maxDepth+1), "line 1, column 39: conditions nest deeper than 32 parentheses and nots"},
		{"where " + strings.Repeat("not ", maxDepth) + "a = 1", "where " + strings.Repeat("not ", maxDepth+1) + "a = 1", "line 1, column 135: conditions nest deeper than 32 parentheses and nots"},
		{conds(maxConds), conds(maxConds + 1), "line 1, column 2567: more than 256 conditions in the query"},
		{values(maxInValues), values(maxInValues + 1), "line 1, column 3013: more than 1000 values in one in list"},
		{`where a ~ "` + strings.Repeat("a", maxRegexBytes) + `"`, `where a ~ "` + strings.Repeat("a", maxRegexBytes+1) + `"`, "line 1, column 11: the regular expression is 1001 bytes; the limit is 1000"},
		{`where a ~ "a{1000}"`, `where a ~ "(abcdefgh){1000}" and b ~ "(abcdefgh){1000}" and c ~ "(abcdefgh){1000}"`, "line 1, column 38: regular expressions too large: more than 20000 instructions compiled; simplify the pattern or its repeats"},
		{path(maxPathSegments), path(maxPathSegments + 1), "line 1, column 71: field names nest at most 32 deep"},
		{list("stats", maxAggs, func(i int) string { return "count as " + name(i) }), list("stats", maxAggs+1, func(i int) string { return "count as " + name(i) }),
			"line 1, column 887: more than 32 aggregates"},
		{"stats count " + list("by", maxBy, name), "stats count " + list("by", maxBy+1, name), "line 1, column 68: more than 8 by fields"},
		{list("sort", maxSortKeys, name), list("sort", maxSortKeys+1, name), "line 1, column 58: more than 8 sort keys"},
		{list("fields", maxFields, name), list("fields", maxFields+1, name), "line 1, column 2216: more than 64 fields"},
		{"limit 1000000", "limit 1000001", "line 1, column 7: limit must be between 1 and 1000000"},
		{"stats count every 1s", "stats count every 999ms", "line 1, column 19: every 999ms is too fine; buckets are at least 1s"},
	} {
		if _, err := Parse(tt.ok); err != nil {
			t.Errorf("%s: %v", Quote(tt.ok), err)
		}
		_, err := Parse(tt.bad)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got %v\nwant %s", Quote(tt.bad), err, tt.want)
		}
	}
}

func TestInvalidUTF8(t *testing.T) {
	_, err := Parse("where a = 1\nwhere é = \"\xff\"")
	if err == nil || err.Error() != "line 2, column 12: the query is not valid UTF-8" {
		t.Errorf("got %v", err)
	}
}

func TestEmptyQuery(t *testing.T) {
	for _, in := range []string{"", "\n", "  # nothing\n\n\t\r\n"} {
		q, err := Parse(in)
		if err != nil || !reflect.DeepEqual(q, &Query{Limit: -1}) {
			t.Errorf("Parse(%q) = %+v, %v; want an empty query", in, q, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/parse/*.txt")
	for _, path := range files {
		for _, c := range readScript(f, path) {
			f.Add(c.query)
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		checkQuery(t, text)
	})
}

// regexSize must bound the compiled size, or a pattern could compile to
// more than maxRegexInsts before the parser counts it.
func TestRegexSizeIsAnUpperBound(t *testing.T) {
	for _, pat := range []string{"a", "abc", "a{1000}", "(abcdefgh){1000}", "[a-z]+x*y?", "(a|b|c){3,7}", "(?i)quota.*exceeded", `\d{2,}-\w{0,5}`, "(x{2}){3}", "((a{10}){10}){10}", "(?:a+b*){2,3}|c", "^$|a"} {
		re, err := syntax.Parse(pat, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		est := regexOverhead + regexSize(re, 1<<30)
		prog, _ := syntax.Compile(re.Simplify())
		if est < len(prog.Inst) {
			t.Errorf("%s: estimate %d < actual %d", pat, est, len(prog.Inst))
		}
	}
}
