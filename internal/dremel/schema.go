package dremel

import (
	"errors"
	"fmt"
	"strings"
)

// Repetition says how often a field may occur in its parent.
type Repetition uint8

// Repetitions. The numbers are stored in segment footers: part of the
// format; never change.
const (
	Required Repetition = 0
	Optional Repetition = 1
	Repeated Repetition = 2
)

var repetitionNames = [...]string{"required", "optional", "repeated"}

func (r Repetition) String() string {
	if int(r) < len(repetitionNames) {
		return repetitionNames[r]
	}
	return fmt.Sprintf("repetition(%d)", r)
}

// ParseRepetition is the inverse of Repetition.String.
func ParseRepetition(s string) (Repetition, bool) {
	for i, n := range repetitionNames {
		if n == s {
			return Repetition(i), true
		}
	}
	return 0, false
}

// Type is the type of a field: a group, or the type of a leaf's values.
type Type uint8

// Types. The numbers are stored in segment footers: part of the format;
// never change.
const (
	Group  Type = 0
	String Type = 1 // a JSON string
	Int    Type = 2 // a JSON number printed as a canonical int64 ("-12", never "-0" or "1e2")
	Number Type = 3 // any other JSON number, kept as its literal text
	Bool   Type = 4
	Null   Type = 5 // JSON null: the value carries no data, its presence is the definition level
	JSON   Type = 6 // compact JSON text of a value that is not shredded further
)

var typeNames = [...]string{"group", "string", "int", "number", "bool", "null", "json"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", t)
}

// ParseType is the inverse of Type.String.
func ParseType(s string) (Type, bool) {
	for i, n := range typeNames {
		if n == s {
			return Type(i), true
		}
	}
	return 0, false
}

// Field is a node of a schema: a group with children, or a leaf.
type Field struct {
	Name       string
	Repetition Repetition
	Type       Type
	Children   []*Field // groups only, in schema order

	// Set by NewSchema.
	parent     *Field
	depth      int // fields on the path from the root, this one included
	maxR, maxD int
	leafLo     int // leaves under this field are Leaves[leafLo:leafHi]
	leafHi     int
	byName     map[string][]int // groups: indices of the children with a name
	repeatedAt []*Field         // leaves: repeatedAt[r] is the repeated field of level r (r ≥ 1)
	pathNames  []string
	pathFields []*Field // leaves: fields from the root's child down to the leaf
}

// child returns the index of the child with the given name, repetition
// and type.
func (f *Field) child(name string, rep Repetition, typ Type) (int, bool) {
	for _, j := range f.byName[name] {
		if c := f.Children[j]; c.Repetition == rep && c.Type == typ {
			return j, true
		}
	}
	return 0, false
}

// childNear is child, trying index hint first: the members of records of
// one kind come in the order their fields were first seen, so a member's
// field is usually the one after the previous member's, and a string
// comparison spares hashing the name.
func (f *Field) childNear(hint int, name string, rep Repetition, typ Type) (int, bool) {
	if hint < len(f.Children) {
		if c := f.Children[hint]; c.Name == name && c.Repetition == rep && c.Type == typ {
			return hint, true
		}
	}
	return f.child(name, rep, typ)
}

// MaxR is the maximum repetition level of the field.
func (f *Field) MaxR() int { return f.maxR }

// MaxD is the maximum definition level of the field.
func (f *Field) MaxD() int { return f.maxD }

// Path returns the names of the fields from the root down to f.
func (f *Field) Path() []string { return f.pathNames }

// Schema is a finished, immutable schema.
type Schema struct {
	Root   *Field   // a required group; its name is the message name
	Leaves []*Field // in schema (depth-first) order: the columns
}

// Errors about schemas.
var (
	ErrSchema         = errors.New("dremel: invalid schema")
	ErrTooManyColumns = errors.New("dremel: too many columns")
)

// NewSchema checks the tree under root and computes levels. The tree must
// not be changed afterwards.
func NewSchema(root *Field) (*Schema, error) {
	if root == nil || root.Type != Group || root.Repetition != Required {
		return nil, fmt.Errorf("%w: root must be a required group", ErrSchema)
	}
	s := &Schema{Root: root}
	count := 0
	if err := s.walk(root, nil, 0, 0, 0, &count); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Schema) walk(f, parent *Field, depth, r, d int, count *int) error {
	*count++
	if *count > MaxFields {
		return fmt.Errorf("%w: more than %d fields", ErrSchema, MaxFields)
	}
	if depth > MaxFieldDepth {
		return fmt.Errorf("%w: deeper than %d fields", ErrSchema, MaxFieldDepth)
	}
	if int(f.Repetition) >= len(repetitionNames) || int(f.Type) >= len(typeNames) {
		return fmt.Errorf("%w: bad repetition or type", ErrSchema)
	}
	f.parent = parent
	f.depth = depth
	if parent != nil {
		switch f.Repetition {
		case Optional:
			d++
		case Repeated:
			r++
			d++
		}
		f.pathNames = append(append([]string(nil), parent.pathNames...), f.Name)
		f.pathFields = append(append([]*Field(nil), parent.pathFields...), f)
	}
	f.maxR, f.maxD = r, d
	f.leafLo = len(s.Leaves)
	if f.Type != Group {
		if len(f.Children) != 0 {
			return fmt.Errorf("%w: leaf %q has children", ErrSchema, f.Name)
		}
		if parent == nil {
			return fmt.Errorf("%w: root is a leaf", ErrSchema)
		}
		if len(s.Leaves) >= MaxLeaves {
			return ErrTooManyColumns
		}
		f.repeatedAt = make([]*Field, r+1)
		for _, p := range f.pathFields {
			if p.Repetition == Repeated {
				f.repeatedAt[p.maxR] = p
			}
		}
		s.Leaves = append(s.Leaves, f)
		f.leafHi = len(s.Leaves)
		return nil
	}
	if parent != nil && len(f.Children) == 0 {
		return fmt.Errorf("%w: group %q has no fields", ErrSchema, f.Name)
	}
	f.byName = make(map[string][]int, len(f.Children))
	for i, c := range f.Children {
		if c == nil {
			return fmt.Errorf("%w: nil field", ErrSchema)
		}
		if _, dup := f.child(c.Name, c.Repetition, c.Type); dup {
			return fmt.Errorf("%w: duplicate field %q", ErrSchema, c.Name)
		}
		f.byName[c.Name] = append(f.byName[c.Name], i)
		if err := s.walk(c, f, depth+1, r, d, count); err != nil {
			return err
		}
	}
	f.leafHi = len(s.Leaves)
	return nil
}

// ColumnName is the dotted name of a column: the field names from the root,
// joined with '.', where a '.' or '\' inside a name is escaped with '\'.
// The key "a.b" under "x" is thus the column x.a\.b.
func ColumnName(path []string) string {
	var b strings.Builder
	for i, n := range path {
		if i > 0 {
			b.WriteByte('.')
		}
		for j := 0; j < len(n); j++ {
			if n[j] == '.' || n[j] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(n[j])
		}
	}
	return b.String()
}

// SplitColumnName is the inverse of ColumnName.
func SplitColumnName(s string) ([]string, error) {
	var path []string
	var cur []byte
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
			if i == len(s) || (s[i] != '.' && s[i] != '\\') {
				return nil, fmt.Errorf("%w: bad escape in column name %q", ErrSchema, s)
			}
			cur = append(cur, s[i])
		case '.':
			path = append(path, string(cur))
			cur = cur[:0]
		default:
			cur = append(cur, s[i])
		}
	}
	return append(path, string(cur)), nil
}

// Leaf returns the index of the leaf with the given path of names,
// repetitions and type, or -1.
func (s *Schema) Leaf(path []string, reps []Repetition, typ Type) int {
	if len(path) != len(reps) || len(path) == 0 {
		return -1
	}
	f := s.Root
	for i, n := range path {
		t := Group
		if i == len(path)-1 {
			t = typ
		}
		j, ok := f.child(n, reps[i], t)
		if !ok {
			return -1
		}
		f = f.Children[j]
	}
	return f.leafLo
}

// Repetitions returns the repetition of each field on the leaf's path.
func (f *Field) Repetitions() []Repetition {
	reps := make([]Repetition, len(f.pathFields))
	for i, p := range f.pathFields {
		reps[i] = p.Repetition
	}
	return reps
}

// Clone returns a deep copy of the field tree under f, without the values
// NewSchema computed.
func (f *Field) Clone() *Field {
	c := &Field{Name: f.Name, Repetition: f.Repetition, Type: f.Type}
	for _, ch := range f.Children {
		c.Children = append(c.Children, ch.Clone())
	}
	return c
}

// String prints the schema in the paper's notation.
func (s *Schema) String() string {
	var b strings.Builder
	var walk func(f *Field, indent string)
	walk = func(f *Field, indent string) {
		if f.Type != Group {
			fmt.Fprintf(&b, "%s%s %s %q;\n", indent, f.Repetition, f.Type, f.Name)
			return
		}
		if f.parent == nil {
			fmt.Fprintf(&b, "message %q {\n", f.Name)
		} else {
			fmt.Fprintf(&b, "%s%s group %q {\n", indent, f.Repetition, f.Name)
		}
		for _, c := range f.Children {
			walk(c, indent+"  ")
		}
		fmt.Fprintf(&b, "%s}\n", indent)
	}
	walk(s.Root, "")
	return b.String()
}
