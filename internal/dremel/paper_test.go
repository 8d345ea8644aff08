package dremel

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"stele/internal/goldenfile"
)

// golden compares got with testdata/name, or rewrites it with -update.

// documentSchema is the schema of Figure 2 of the paper:
//
//	message Document {
//	  required int64 DocId;
//	  optional group Links {
//	    repeated int64 Backward;
//	    repeated int64 Forward; }
//	  repeated group Name {
//	    repeated group Language {
//	      required string Code;
//	      optional string Country; }
//	    optional string Url; }}
func documentSchema(t testing.TB) *Schema {
	leaf := func(name string, r Repetition, typ Type) *Field {
		return &Field{Name: name, Repetition: r, Type: typ}
	}
	group := func(name string, r Repetition, children ...*Field) *Field {
		return &Field{Name: name, Repetition: r, Type: Group, Children: children}
	}
	s, err := NewSchema(group("Document", Required,
		leaf("DocId", Required, Int),
		group("Links", Optional,
			leaf("Backward", Repeated, Int),
			leaf("Forward", Repeated, Int)),
		group("Name", Repeated,
			group("Language", Repeated,
				leaf("Code", Required, String),
				leaf("Country", Optional, String)),
			leaf("Url", Optional, String))))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The records r1 and r2 of Figure 2, as JSON.
const (
	paperR1 = `{"DocId":10,"Links":{"Forward":[20,40,60]},"Name":[{"Language":[{"Code":"en-us","Country":"us"},{"Code":"en"}],"Url":"http://A"},{"Url":"http://B"},{"Language":[{"Code":"en-gb","Country":"gb"}]}]}`
	paperR2 = `{"DocId":20,"Links":{"Backward":[10,30],"Forward":[80]},"Name":[{"Url":"http://C"}]}`
)

func paperRecords(t testing.TB) []Value {
	var recs []Value
	for _, s := range []string{paperR1, paperR2} {
		v, err := ParseEvent(s)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, v)
	}
	return recs
}

// entry is one row of a column-striped table: value (nil for NULL), r, d.
type entry struct {
	v    any
	r, d int
}

// entries lists the entries of a column as the paper's tables do.
func entries(leaf *Field, c *Column) []entry {
	var out []entry
	v := 0
	for i := range c.D {
		e := entry{r: int(c.R[i]), d: int(c.D[i])}
		if e.d == leaf.maxD {
			switch leaf.Type {
			case Int:
				e.v = c.Ints[v]
			case String:
				e.v = c.Strs[v]
			}
			v++
		}
		out = append(out, e)
	}
	return out
}

// TestPaperColumnStripes checks Figure 3 of the paper: every value and
// level of the six columns of r1 and r2, and each column's maximum levels.
func TestPaperColumnStripes(t *testing.T) {
	s := documentSchema(t)
	sh := NewShredder(s)
	recs := paperRecords(t)
	for i := range recs {
		if err := sh.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	cols := sh.Columns()
	want := []struct {
		name       string
		maxR, maxD int
		entries    []entry
	}{
		{"DocId", 0, 0, []entry{{int64(10), 0, 0}, {int64(20), 0, 0}}},
		{"Links.Backward", 1, 2, []entry{{nil, 0, 1}, {int64(10), 0, 2}, {int64(30), 1, 2}}},
		{"Links.Forward", 1, 2, []entry{{int64(20), 0, 2}, {int64(40), 1, 2}, {int64(60), 1, 2}, {int64(80), 0, 2}}},
		{"Name.Language.Code", 2, 2, []entry{{"en-us", 0, 2}, {"en", 2, 2}, {nil, 1, 1}, {"en-gb", 1, 2}, {nil, 0, 1}}},
		{"Name.Language.Country", 2, 3, []entry{{"us", 0, 3}, {nil, 2, 2}, {nil, 1, 1}, {"gb", 1, 3}, {nil, 0, 1}}},
		{"Name.Url", 1, 2, []entry{{"http://A", 0, 2}, {"http://B", 1, 2}, {nil, 1, 1}, {"http://C", 0, 2}}},
	}
	if len(s.Leaves) != len(want) {
		t.Fatalf("%d columns, want %d", len(s.Leaves), len(want))
	}
	var text []byte
	for i, w := range want {
		leaf := s.Leaves[i]
		if got := ColumnName(leaf.Path()); got != w.name {
			t.Errorf("column %d is %s, want %s", i, got, w.name)
		}
		if leaf.MaxR() != w.maxR || leaf.MaxD() != w.maxD {
			t.Errorf("%s: max levels r=%d d=%d, want r=%d d=%d", w.name, leaf.MaxR(), leaf.MaxD(), w.maxR, w.maxD)
		}
		if got := entries(leaf, &cols[i]); !reflect.DeepEqual(got, w.entries) {
			t.Errorf("%s:\n got %v\nwant %v", w.name, got, w.entries)
		}
		text = AppendColumnLine(text, leaf, &cols[i])
	}
	goldenfile.Check(t, "document.columns", text)

	// Full assembly gives back r1 and r2.
	ptrs := make([]*Column, len(cols))
	for i := range cols {
		ptrs[i] = &cols[i]
	}
	var got []string
	err := Assemble(s.Leaves, ptrs, 2, func(v Value) error {
		got = append(got, string(AppendJSON(nil, v)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{paperR1, paperR2}; !reflect.DeepEqual(got, want) {
		t.Errorf("assembled\n%s\nwant\n%s", got, want)
	}
}

// TestPaperProjection checks Figure 5 of the paper: assembling only DocId
// and Name.Language.Country.
func TestPaperProjection(t *testing.T) {
	s := documentSchema(t)
	sh := NewShredder(s)
	recs := paperRecords(t)
	for i := range recs {
		if err := sh.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	cols := sh.Columns()
	leaves := []*Field{s.Leaves[0], s.Leaves[4]}
	var got []string
	err := Assemble(leaves, []*Column{&cols[0], &cols[4]}, 2, func(v Value) error {
		got = append(got, string(AppendJSON(nil, v)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"DocId":10,"Name":[{"Language":[{"Country":"us"},{}]},{},{"Language":[{"Country":"gb"}]}]}`,
		`{"DocId":20,"Name":[{}]}`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("projected\n%s\nwant\n%s", got, want)
	}
}

// TestFSMPaperFigures checks the automata of Figures 4 and 5 (the paper's
// complete and projected record assembly FSMs).
func TestFSMPaperFigures(t *testing.T) {
	s := documentSchema(t)
	L := s.Leaves
	tests := []struct {
		name   string
		leaves []*Field
		want   [][]int // per leaf, per repetition level: index of next leaf or End
	}{
		{"figure 4", L, [][]int{
			{1},       // DocId: 0 → Links.Backward
			{2, 1},    // Links.Backward: 0 → Links.Forward, 1 → itself
			{3, 2},    // Links.Forward: 0 → Name.Language.Code, 1 → itself
			{4, 4, 4}, // Name.Language.Code: 0,1,2 → Name.Language.Country
			{5, 5, 3}, // Name.Language.Country: 0,1 → Name.Url, 2 → Name.Language.Code
			{End, 3},  // Name.Url: 0 → end, 1 → Name.Language.Code
		}},
		{"figure 5", []*Field{L[0], L[4]}, [][]int{
			{1},         // DocId: 0 → Name.Language.Country
			{End, 1, 1}, // Name.Language.Country: 0 → end, 1,2 → itself
		}},
	}
	for _, tt := range tests {
		m, err := NewFSM(tt.leaves)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m.Next, tt.want) {
			t.Errorf("%s: transitions %v, want %v", tt.name, m.Next, tt.want)
		}
	}
}

// TestInferredDocument shreds r1 and r2 with an inferred schema (every
// field optional), as `store shred` does.
func TestInferredDocument(t *testing.T) {
	s, cols, err := Shred("", paperRecords(t))
	if err != nil {
		t.Fatal(err)
	}
	var text []byte
	for i, leaf := range s.Leaves {
		text = AppendColumnLine(text, leaf, &cols[i])
	}
	goldenfile.Check(t, "document-inferred.columns", text)

	// The example line, as JSON values.
	want := `{"column":"Name.Language.Code","type":"string","max_r":2,"max_d":3,"values":[["en-us",0,3],["en",2,3],[null,1,1],["en-gb",1,3],[null,0,1]]}`
	var found bool
	for _, line := range bytes.Split(text, []byte("\n")) {
		var got map[string]any
		if len(line) == 0 || json.Unmarshal(line, &got) != nil || got["column"] != "Name.Language.Code" {
			continue
		}
		found = true
		delete(got, "repetition")
		var w map[string]any
		if err := json.Unmarshal([]byte(want), &w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("got %s\nwant %s", line, want)
		}
	}
	if !found {
		t.Error("no Name.Language.Code column")
	}
}

// TestShredRollback checks that a record which does not fit an explicit
// schema leaves the columns as they were.
func TestShredRollback(t *testing.T) {
	s := documentSchema(t)
	sh := NewShredder(s)
	recs := paperRecords(t)
	if err := sh.Add(&recs[0]); err != nil {
		t.Fatal(err)
	}
	before := sh.Columns()
	sh = NewShredder(s)
	sh.Add(&recs[0])
	tests := []string{
		`{"Name":[{"Url":"x"}]}`, // DocId is required
		`{"DocId":1,"Name":[{"Url":"x"},{"Language":[{"Country":"y"}]}]}`, // Code is required
		`{"DocId":1,"Links":{"Forward":["x"]}}`,                           // Forward holds int64s
		`{"DocId":1,"Extra":true}`,                                        // not in the schema
	}
	for _, line := range tests {
		v, err := ParseEvent(line)
		if err != nil {
			t.Fatal(err)
		}
		if err := sh.Add(&v); !errors.Is(err, ErrMismatch) {
			t.Errorf("%s: error %v, want ErrMismatch", line, err)
		}
	}
	if after := sh.Columns(); !reflect.DeepEqual(after, before) {
		t.Errorf("columns changed by rejected records:\n%v\n%v", after, before)
	}
}
