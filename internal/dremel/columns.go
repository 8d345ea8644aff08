package dremel

import (
	"fmt"
	"strconv"
)

// AppendColumnLine appends the text form of a column, one JSON object
// ending in '\n', as `store shred` prints it:
//
//	{"column":"Name.Language.Code","type":"string","max_r":2,"max_d":3,
//	 "values":[["en-us",0,3],["en",2,3],[null,1,1],["en-gb",1,3],[null,0,1]],
//	 "repetition":["repeated","repeated","optional"]}
//
// (on one line). Each entry of values is [value, r, d] with null for NULL.
// "repetition" gives the repetition of each field on the path; max_r and
// max_d alone cannot say which fields are repeated, and the inverse,
// ParseColumnLine, needs to know.
func AppendColumnLine(dst []byte, leaf *Field, col *Column) []byte {
	dst = append(dst, `{"column":`...)
	dst = AppendString(dst, ColumnName(leaf.pathNames))
	dst = append(dst, `,"type":"`...)
	dst = append(dst, leaf.Type.String()...)
	dst = append(dst, `","max_r":`...)
	dst = strconv.AppendInt(dst, int64(leaf.maxR), 10)
	dst = append(dst, `,"max_d":`...)
	dst = strconv.AppendInt(dst, int64(leaf.maxD), 10)
	dst = append(dst, `,"values":[`...)
	v := 0
	for i := range col.D {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '[')
		if int(col.D[i]) != leaf.maxD {
			dst = append(dst, "null"...)
		} else {
			switch leaf.Type {
			case String:
				dst = AppendString(dst, col.Strs[v])
			case Int:
				dst = strconv.AppendInt(dst, col.Ints[v], 10)
			case Number, JSON:
				dst = append(dst, col.Strs[v]...)
			case Bool:
				dst = strconv.AppendBool(dst, col.Bools[v])
			case Null:
				dst = append(dst, "null"...)
			}
			if leaf.Type != Null {
				v++
			}
		}
		dst = append(dst, ',')
		dst = strconv.AppendInt(dst, int64(col.R[i]), 10)
		dst = append(dst, ',')
		dst = strconv.AppendInt(dst, int64(col.D[i]), 10)
		dst = append(dst, ']')
	}
	dst = append(dst, `],"repetition":[`...)
	for i, p := range leaf.pathFields {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, p.Repetition.String()...)
		dst = append(dst, '"')
	}
	return append(dst, "]}\n"...)
}

// ColumnLine is one parsed line of ParseColumnLine.
type ColumnLine struct {
	Path        []string
	Repetitions []Repetition
	Type        Type
	MaxR, MaxD  int
	Column      Column
}

// ParseColumnLine parses one line printed by AppendColumnLine. Values are
// checked against the type and levels against max_r and max_d; whether
// the levels describe records is checked by Assemble.
func ParseColumnLine(line string) (*ColumnLine, error) {
	v, err := ParseJSON(line)
	if err != nil {
		return nil, err
	}
	if v.Kind != KindObject {
		return nil, fmt.Errorf("%w: column line is not an object", ErrSchema)
	}
	cl := &ColumnLine{}
	var values *Value
	var seen int
	for i := range v.Members {
		m := &v.Members[i]
		switch m.Key {
		case "column":
			if m.Value.Kind != KindString {
				return nil, fmt.Errorf("%w: column is not a string", ErrSchema)
			}
			if cl.Path, err = SplitColumnName(m.Value.Str); err != nil {
				return nil, err
			}
		case "type":
			t, ok := ParseType(m.Value.Str)
			if m.Value.Kind != KindString || !ok || t == Group {
				return nil, fmt.Errorf("%w: bad type", ErrSchema)
			}
			cl.Type = t
		case "max_r", "max_d":
			n, ok := canonicalInt(m.Value.Str)
			if m.Value.Kind != KindNumber || !ok || n < 0 || n > MaxFieldDepth {
				return nil, fmt.Errorf("%w: bad %s", ErrSchema, m.Key)
			}
			if m.Key == "max_r" {
				cl.MaxR = int(n)
			} else {
				cl.MaxD = int(n)
			}
		case "values":
			if m.Value.Kind != KindArray {
				return nil, fmt.Errorf("%w: values is not an array", ErrSchema)
			}
			values = &m.Value
		case "repetition":
			if m.Value.Kind != KindArray {
				return nil, fmt.Errorf("%w: repetition is not an array", ErrSchema)
			}
			for _, e := range m.Value.Elems {
				r, ok := ParseRepetition(e.Str)
				if e.Kind != KindString || !ok {
					return nil, fmt.Errorf("%w: bad repetition", ErrSchema)
				}
				cl.Repetitions = append(cl.Repetitions, r)
			}
		default:
			return nil, fmt.Errorf("%w: unknown key %q in column line", ErrSchema, m.Key)
		}
		seen++
	}
	if seen != 6 || values == nil {
		return nil, fmt.Errorf("%w: column line needs column, type, max_r, max_d, values and repetition", ErrSchema)
	}
	if len(cl.Repetitions) != len(cl.Path) || len(cl.Path) > MaxFieldDepth {
		return nil, fmt.Errorf("%w: %d repetitions for a path of %d fields", ErrSchema, len(cl.Repetitions), len(cl.Path))
	}
	r, d := 0, 0
	for _, rep := range cl.Repetitions {
		switch rep {
		case Optional:
			d++
		case Repeated:
			r++
			d++
		}
	}
	if r != cl.MaxR || d != cl.MaxD {
		return nil, fmt.Errorf("%w: max_r %d and max_d %d do not match the repetitions", ErrSchema, cl.MaxR, cl.MaxD)
	}
	col := &cl.Column
	for _, e := range values.Elems {
		if e.Kind != KindArray || len(e.Elems) != 3 {
			return nil, fmt.Errorf("%w: a value is not [value, r, d]", ErrSchema)
		}
		lr, ok1 := canonicalInt(e.Elems[1].Str)
		ld, ok2 := canonicalInt(e.Elems[2].Str)
		if e.Elems[1].Kind != KindNumber || e.Elems[2].Kind != KindNumber || !ok1 || !ok2 ||
			lr < 0 || lr > int64(cl.MaxR) || ld < 0 || ld > int64(cl.MaxD) {
			return nil, fmt.Errorf("%w: bad levels", ErrSchema)
		}
		col.R = append(col.R, uint8(lr))
		col.D = append(col.D, uint8(ld))
		x := &e.Elems[0]
		if int(ld) != cl.MaxD {
			if x.Kind != KindNull {
				return nil, fmt.Errorf("%w: a value below the maximum definition level", ErrSchema)
			}
			continue
		}
		bad := false
		switch cl.Type {
		case String:
			bad = x.Kind != KindString
			col.Strs = append(col.Strs, x.Str)
		case Int:
			n, ok := canonicalInt(x.Str)
			bad = x.Kind != KindNumber || !ok
			col.Ints = append(col.Ints, n)
		case Number:
			bad = x.Kind != KindNumber
			col.Strs = append(col.Strs, x.Str)
		case Bool:
			bad = x.Kind != KindBool
			col.Bools = append(col.Bools, x.Bool)
		case Null:
			bad = x.Kind != KindNull
		case JSON:
			col.Strs = append(col.Strs, string(AppendJSON(nil, *x)))
		}
		if bad {
			return nil, fmt.Errorf("%w: a value is not of type %s", ErrSchema, cl.Type)
		}
	}
	return cl, nil
}

// SchemaOf builds the schema that holds the given column lines and returns
// it with the leaf index of each line.
func SchemaOf(lines []*ColumnLine) (*Schema, []int, error) {
	b := NewBuilder("")
	for _, cl := range lines {
		if err := b.AddLeaf(cl.Path, cl.Repetitions, cl.Type); err != nil {
			return nil, nil, err
		}
	}
	s, err := b.Schema()
	if err != nil {
		return nil, nil, err
	}
	idx := make([]int, len(lines))
	seen := make(map[int]bool, len(lines))
	for i, cl := range lines {
		idx[i] = s.Leaf(cl.Path, cl.Repetitions, cl.Type)
		if idx[i] < 0 || seen[idx[i]] {
			return nil, nil, fmt.Errorf("%w: column %q given twice or conflicting", ErrSchema, ColumnName(cl.Path))
		}
		seen[idx[i]] = true
	}
	return s, idx, nil
}
