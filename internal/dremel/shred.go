package dremel

import (
	"errors"
	"fmt"
)

// classify returns how a member value at field depth depth (1 for the keys
// of the record itself) is shredded: its repetition and type. It is the
// whole of the JSON mapping; see the package documentation.
func classify(v *Value, depth int) (Repetition, Type) {
	switch v.Kind {
	case KindString:
		return Optional, String
	case KindNumber:
		if _, ok := canonicalInt(v.Str); ok {
			return Optional, Int
		}
		return Optional, Number
	case KindBool:
		return Optional, Bool
	case KindNull:
		return Optional, Null
	case KindObject:
		if len(v.Members) == 0 || depth >= MaxFieldDepth {
			return Optional, JSON
		}
		return Optional, Group
	case KindArray:
		if t, ok := elemType(v.Elems, depth); ok {
			return Repeated, t
		}
	}
	return Optional, JSON
}

// elemType returns the one type all elements of a non-empty array share,
// if they do. Integers and other numbers share the type Number.
func elemType(elems []Value, depth int) (Type, bool) {
	if len(elems) == 0 {
		return 0, false
	}
	var t Type
	for i := range elems {
		rep, et := classify(&elems[i], depth)
		if rep != Optional || et == JSON {
			return 0, false
		}
		switch {
		case i == 0 || et == t:
			t = et
		case (t == Int && et == Number) || (t == Number && et == Int):
			t = Number
		default:
			return 0, false
		}
	}
	return t, true
}

// Builder infers a schema from JSON records: every field is optional,
// objects are groups, arrays of one type are repeated fields, and a key
// with values of different types gets one field per type. Fields are kept
// in the order they were first seen.
type Builder struct {
	root   *Field
	leaves int
	fields int
}

// NewBuilder returns a Builder for a schema whose root group is named name.
func NewBuilder(name string) *Builder {
	return &Builder{root: &Field{Name: name, Type: Group, byName: map[string][]int{}}}
}

// Add adds the fields of record, a JSON object, to the schema.
func (b *Builder) Add(record *Value) error {
	if record.Kind != KindObject {
		return ErrNotEvent
	}
	return b.merge(b.root, record.Members, 0)
}

func (b *Builder) merge(g *Field, members []Member, depth int) error {
	next := 0
	for i := range members {
		m := &members[i]
		rep, typ := classify(&m.Value, depth+1)
		j, err := b.child(g, next, m.Key, rep, typ)
		if err != nil {
			return err
		}
		next = j + 1
		c := g.Children[j]
		if typ != Group {
			continue
		}
		if rep == Repeated {
			for j := range m.Value.Elems {
				if err := b.merge(c, m.Value.Elems[j].Members, depth+1); err != nil {
					return err
				}
			}
			continue
		}
		if err := b.merge(c, m.Value.Members, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// child returns the index in g of its child name of type rep typ, adding
// it if needed; hint is as for Field.childNear.
func (b *Builder) child(g *Field, hint int, name string, rep Repetition, typ Type) (int, error) {
	if i, ok := g.childNear(hint, name, rep, typ); ok {
		return i, nil
	}
	if typ != Group {
		if b.leaves >= MaxLeaves {
			return 0, ErrTooManyColumns
		}
		b.leaves++
	}
	if b.fields >= MaxFields {
		return 0, ErrTooManyColumns
	}
	b.fields++
	c := &Field{Name: name, Repetition: rep, Type: typ}
	if typ == Group {
		c.byName = map[string][]int{}
	}
	g.byName[name] = append(g.byName[name], len(g.Children))
	g.Children = append(g.Children, c)
	return len(g.Children) - 1, nil
}

// AddLeaf adds the leaf with the given path, repetitions and type.
func (b *Builder) AddLeaf(path []string, reps []Repetition, typ Type) error {
	if len(path) == 0 || len(path) != len(reps) || typ == Group {
		return fmt.Errorf("%w: bad leaf", ErrSchema)
	}
	if len(path) > MaxFieldDepth {
		return fmt.Errorf("%w: deeper than %d fields", ErrSchema, MaxFieldDepth)
	}
	g := b.root
	for i, n := range path {
		t := Group
		if i == len(path)-1 {
			t = typ
		}
		j, err := b.child(g, 0, n, reps[i], t)
		if err != nil {
			return err
		}
		g = g.Children[j]
	}
	return nil
}

// Schema returns the schema built so far. The Builder stays usable.
func (b *Builder) Schema() (*Schema, error) {
	return NewSchema(b.root.Clone())
}

// Column is one shredded column: a repetition and a definition level per
// entry, and a value for each entry whose definition level is the leaf's
// maximum. Which value slice is used depends on the leaf's type: Strs for
// String, Number (the literal) and JSON (compact text), Ints for Int,
// Bools for Bool; Null has no values.
type Column struct {
	R, D  []uint8
	Strs  []string
	Ints  []int64
	Bools []bool

	// Dict and Codes, when a reader sets them (segment.Reader's
	// ReadColumnCoded), hold the string values of a dictionary-coded
	// column: value i is Dict[Codes[i]], and Strs is nil. Writers put no
	// entry twice in a dictionary, but a damaged file may: nothing may
	// rely on it. Code that only knows Strs never sees them.
	Dict  []string
	Codes []uint32
}

// Len is the number of entries (levels) in the column.
func (c *Column) Len() int { return len(c.D) }

// Values is the number of values (defined entries) in the column of leaf.
func (c *Column) Values(leaf *Field) int {
	switch leaf.Type {
	case String, Number, JSON:
		return len(c.Strs)
	case Int:
		return len(c.Ints)
	case Bool:
		return len(c.Bools)
	}
	n := 0
	for _, d := range c.D {
		if int(d) == leaf.maxD {
			n++
		}
	}
	return n
}

// ErrMismatch is returned when a record does not fit an explicit schema.
var ErrMismatch = errors.New("dremel: record does not match schema")

// Shredder splits records into columns, one per leaf of its schema, as in
// section 4.2 of the paper.
type Shredder struct {
	schema *Schema
	cols   []Column
	rows   int      // records in cols
	adds   int      // calls of Add, numbering the record being added
	stamp  []int    // per column: the add that last touched it
	marks  []mark   // columns the record being added touched, and their lengths before
	slots  []*Value // scratch: member value per child, stacked by depth
	buf    []byte
}

type mark struct{ col, n, v int }

// A top-level optional leaf gets the entry (NULL, 0, 0) for each record
// without it. Those are not written one by one: the column is padded with
// them when it next gets a value, and in Columns. Records of many shapes
// then cost no work in the columns they lack.
func lazy(c *Field) bool { return c.depth == 1 && c.Type != Group && c.Repetition == Optional }

// NewShredder returns a Shredder for s.
func NewShredder(s *Schema) *Shredder {
	return &Shredder{schema: s, cols: make([]Column, len(s.Leaves)), stamp: make([]int, len(s.Leaves))}
}

// Add shreds one record, a JSON object. On error the columns are left as
// they were before the call.
func (sh *Shredder) Add(record *Value) error {
	if record.Kind != KindObject {
		return ErrNotEvent
	}
	sh.adds++
	sh.marks = sh.marks[:0]
	err := sh.group(sh.schema.Root, record.Members, 0, 0)
	if err != nil {
		// Roll back: only one of the value slices is in use per column.
		for _, m := range sh.marks {
			c := &sh.cols[m.col]
			c.R, c.D = c.R[:m.n], c.D[:m.n]
			c.Strs = c.Strs[:min(m.v, len(c.Strs))]
			c.Ints = c.Ints[:min(m.v, len(c.Ints))]
			c.Bools = c.Bools[:min(m.v, len(c.Bools))]
		}
		sh.slots = sh.slots[:0]
		return err
	}
	sh.rows++
	return nil
}

// touch returns column k, noting its lengths the first time the record
// being added touches it.
func (sh *Shredder) touch(k int) *Column {
	c := &sh.cols[k]
	if sh.stamp[k] != sh.adds {
		sh.stamp[k] = sh.adds
		sh.marks = append(sh.marks, mark{k, len(c.D), len(c.Strs) + len(c.Ints) + len(c.Bools)})
	}
	return c
}

// pad gives a lazy column its entries for the records before this one.
func pad(c *Column, rows int) {
	for len(c.D) < rows {
		c.R = append(c.R, 0)
		c.D = append(c.D, 0)
	}
}

// Columns returns the columns shredded so far, indexed like the schema's
// leaves. They belong to the caller; the Shredder starts afresh.
func (sh *Shredder) Columns() []Column {
	cols := sh.cols
	for k, leaf := range sh.schema.Leaves {
		if lazy(leaf) {
			pad(&cols[k], sh.rows)
		}
	}
	sh.cols = make([]Column, len(sh.schema.Leaves))
	sh.rows = 0
	clear(sh.stamp)
	sh.adds = 0
	return cols
}

func (sh *Shredder) group(g *Field, members []Member, r, d int) error {
	base := len(sh.slots)
	for range g.Children {
		sh.slots = append(sh.slots, nil)
	}
	next := 0
	for i := range members {
		m := &members[i]
		rep, typ := classify(&m.Value, g.depth+1)
		j, ok := g.childNear(next, m.Key, rep, typ)
		if !ok && rep == Optional {
			j, ok = g.child(m.Key, Required, typ)
		}
		if !ok && typ == Int {
			j, ok = g.child(m.Key, rep, Number)
		}
		if !ok {
			return fmt.Errorf("%w: no field %q of type %s %s", ErrMismatch, m.Key, rep, typ)
		}
		sh.slots[base+j] = &m.Value
		next = j + 1
	}
	for j, c := range g.Children {
		v := sh.slots[base+j]
		switch {
		case v == nil && c.Repetition == Required:
			return fmt.Errorf("%w: required field %q is missing", ErrMismatch, c.Name)
		case v == nil && lazy(c):
		case v == nil:
			for k := c.leafLo; k < c.leafHi; k++ {
				col := sh.touch(k)
				col.R = append(col.R, uint8(r))
				col.D = append(col.D, uint8(d))
			}
		case c.Repetition == Repeated:
			for k := range v.Elems {
				rr := r
				if k > 0 {
					rr = c.maxR
				}
				if err := sh.value(c, &v.Elems[k], rr); err != nil {
					return err
				}
			}
		default:
			if err := sh.value(c, v, r); err != nil {
				return err
			}
		}
	}
	sh.slots = sh.slots[:base]
	return nil
}

// value shreds one present value of field c, at c's own definition level.
func (sh *Shredder) value(c *Field, v *Value, r int) error {
	if c.Type == Group {
		if v.Kind != KindObject {
			return fmt.Errorf("%w: field %q is not an object", ErrMismatch, c.Name)
		}
		return sh.group(c, v.Members, r, c.maxD)
	}
	col := sh.touch(c.leafLo)
	if lazy(c) {
		pad(col, sh.rows)
	}
	switch c.Type {
	case String:
		if v.Kind != KindString {
			return fmt.Errorf("%w: field %q is not a string", ErrMismatch, c.Name)
		}
		col.Strs = append(col.Strs, v.Str)
	case Int:
		n, ok := int64(0), false
		if v.Kind == KindNumber {
			n, ok = canonicalInt(v.Str)
		}
		if !ok {
			return fmt.Errorf("%w: field %q is not an int64", ErrMismatch, c.Name)
		}
		col.Ints = append(col.Ints, n)
	case Number:
		if v.Kind != KindNumber {
			return fmt.Errorf("%w: field %q is not a number", ErrMismatch, c.Name)
		}
		col.Strs = append(col.Strs, v.Str)
	case Bool:
		if v.Kind != KindBool {
			return fmt.Errorf("%w: field %q is not a boolean", ErrMismatch, c.Name)
		}
		col.Bools = append(col.Bools, v.Bool)
	case Null:
		if v.Kind != KindNull {
			return fmt.Errorf("%w: field %q is not null", ErrMismatch, c.Name)
		}
	case JSON:
		if v.Kind == KindRaw {
			col.Strs = append(col.Strs, v.Str)
		} else {
			sh.buf = AppendJSON(sh.buf[:0], *v)
			col.Strs = append(col.Strs, string(sh.buf))
		}
	}
	col.R = append(col.R, uint8(r))
	col.D = append(col.D, uint8(c.maxD))
	return nil
}

// Shred infers a schema for records and shreds them.
func Shred(name string, records []Value) (*Schema, []Column, error) {
	b := NewBuilder(name)
	for i := range records {
		if err := b.Add(&records[i]); err != nil {
			return nil, nil, fmt.Errorf("record %d: %w", i, err)
		}
	}
	s, err := b.Schema()
	if err != nil {
		return nil, nil, err
	}
	sh := NewShredder(s)
	// A top-level optional leaf has one entry per record: size its levels
	// once rather than growing them.
	for k, leaf := range s.Leaves {
		if lazy(leaf) {
			sh.cols[k].R = make([]uint8, 0, len(records))
			sh.cols[k].D = make([]uint8, 0, len(records))
		}
	}
	for i := range records {
		if err := sh.Add(&records[i]); err != nil {
			return nil, nil, fmt.Errorf("record %d: %w", i, err)
		}
	}
	return s, sh.Columns(), nil
}
