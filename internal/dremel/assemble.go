package dremel

import (
	"errors"
	"fmt"
	"strconv"
)

// FSM is the record-assembly automaton of the paper (section 4.3 and
// appendix) for a list of leaves in schema order: after reading a value of
// leaf i, the assembler reads leaf Next[i][r] next, where r is the
// repetition level of leaf i's following entry. End stands for "record
// done".
type FSM struct {
	Leaves []*Field
	Next   [][]int
}

// End is the final state of an FSM.
const End = -1

// commonRL is the repetition level of the lowest common ancestor of a and b.
func commonRL(a, b *Field) int {
	r := 0
	for i := 0; i < len(a.pathFields) && i < len(b.pathFields) && a.pathFields[i] == b.pathFields[i]; i++ {
		r = a.pathFields[i].maxR
	}
	return r
}

// NewFSM builds the automaton for leaves, which must be in schema order.
// It follows the paper's construction: levels up to the barrier level (the
// common repetition level with the next leaf) go to the next leaf; a
// higher level r starts a new instance of the field repeated at level r,
// so it goes back to the first leaf (of this list) under that field. The
// paper finds that leaf among the preceding leaves by their common
// repetition level; computing it from the field directly gives the same
// transitions (see TestFSMPaperFigures) and stays right when a level has
// no preceding leaf of exactly that common level.
func NewFSM(leaves []*Field) (*FSM, error) {
	for i := 1; i < len(leaves); i++ {
		if leaves[i-1].leafLo >= leaves[i].leafLo {
			return nil, fmt.Errorf("%w: projected leaves not in schema order", ErrSchema)
		}
	}
	m := &FSM{Leaves: leaves, Next: make([][]int, len(leaves))}
	for i, f := range leaves {
		barrier, barrierLevel := End, 0
		if i+1 < len(leaves) {
			barrier, barrierLevel = i+1, commonRL(f, leaves[i+1])
		}
		t := make([]int, f.maxR+1)
		for level := range t {
			if level <= barrierLevel {
				t[level] = barrier
				continue
			}
			rep := f.repeatedAt[level]
			for j := 0; j <= i; j++ {
				if leaves[j].leafLo >= rep.leafLo && leaves[j].leafLo < rep.leafHi {
					t[level] = j
					break
				}
			}
		}
		m.Next[i] = t
	}
	return m, nil
}

// ErrCorrupt is returned when columns are not a valid shredding of records.
var ErrCorrupt = errors.New("dremel: columns are inconsistent")

// node is a group instance being assembled. Nodes and members come from
// the assembler's pools and are reused from one record to the next: only
// the Values a record is made of are allocated for it.
type node struct {
	members []*member
}

// member is one field of a group instance: a run of instances of the same
// field (one unless the field is repeated).
type member struct {
	field  *Field
	groups []*node
	values []Value // a repeated leaf's values: the record's array holds this slice
	one    Value   // a leaf's value if it is not repeated
}

// newNode returns an empty node from the pool.
func (a *assembler) newNode() *node {
	if a.nodesUsed == len(a.nodes) {
		a.nodes = append(a.nodes, &node{})
	}
	n := a.nodes[a.nodesUsed]
	a.nodesUsed++
	n.members = n.members[:0]
	return n
}

// add returns n's member for field f: the last one if f is repeated and
// was the last added, else a new one from the pool.
func (a *assembler) add(n *node, f *Field) *member {
	if k := len(n.members); k > 0 && n.members[k-1].field == f && f.Repetition == Repeated {
		return n.members[k-1]
	}
	if a.membersUsed == len(a.members) {
		a.members = append(a.members, &member{})
	}
	m := a.members[a.membersUsed]
	a.membersUsed++
	*m = member{field: f, groups: m.groups[:0]}
	n.members = append(n.members, m)
	return m
}

func (n *node) value() Value {
	v := Value{Kind: KindObject, Members: make([]Member, 0, len(n.members))}
	for _, m := range n.members {
		var mv Value
		if m.field.Type == Group {
			elems := make([]Value, len(m.groups))
			for i, g := range m.groups {
				elems[i] = g.value()
			}
			mv = Value{Kind: KindArray, Elems: elems}
			if m.field.Repetition != Repeated {
				mv = elems[0]
			}
		} else {
			mv = m.one
			if m.field.Repetition == Repeated {
				mv = Value{Kind: KindArray, Elems: m.values}
			}
		}
		v.Members = append(v.Members, Member{Key: m.field.Name, Value: mv})
	}
	return v
}

// cursor reads one column.
type cursor struct {
	leaf *Field
	col  *Column
	pos  int // next entry
	val  int // next value
}

// nextR is the repetition level of the next entry, 0 at the end.
func (c *cursor) nextR() int {
	if c.pos < len(c.col.R) {
		return int(c.col.R[c.pos])
	}
	return 0
}

// Assemble rebuilds records from columns: cols[i] holds the column of
// leaves[i], and leaves are a subset of one schema's leaves in schema order
// (all of them for full assembly, a projection otherwise). rows is the
// number of records, or -1 if the caller does not know it: the columns
// must hold exactly that many, and with no leaves it is how many empty
// records are emitted. emit is called with each record in order.
func Assemble(leaves []*Field, cols []*Column, rows int, emit func(Value) error) error {
	return AssembleSome(leaves, cols, rows, nil, func(_ int, v Value) error { return emit(v) })
}

// AssembleSome is Assemble for the records i (counted from 0) for which
// want(i) is true, or all if want is nil; it steps over the others'
// entries without building them, which is what makes fetching a few
// records of a large block cheap. emit gets each record's number.
func AssembleSome(leaves []*Field, cols []*Column, rows int, want func(i int) bool, emit func(i int, v Value) error) error {
	if len(leaves) != len(cols) {
		return fmt.Errorf("%w: %d leaves, %d columns", ErrSchema, len(leaves), len(cols))
	}
	if len(leaves) == 0 {
		for i := range rows {
			if want != nil && !want(i) {
				continue
			}
			if err := emit(i, Value{Kind: KindObject}); err != nil {
				return err
			}
		}
		return nil
	}
	m, err := NewFSM(leaves)
	if err != nil {
		return err
	}
	curs := make([]cursor, len(leaves))
	for i := range leaves {
		c := cols[i]
		if len(c.R) != len(c.D) {
			return fmt.Errorf("%w: column %d has %d repetition and %d definition levels", ErrCorrupt, i, len(c.R), len(c.D))
		}
		if c.Values(leaves[i]) != countDefined(c, leaves[i]) {
			return fmt.Errorf("%w: column %d has the wrong number of values", ErrCorrupt, i)
		}
		curs[i] = cursor{leaf: leaves[i], col: c}
	}
	a := assembler{fsm: m, curs: curs}
	n := 0
	for curs[0].pos < len(curs[0].col.D) {
		if want != nil && !want(n) {
			if err := a.skip(); err != nil {
				return fmt.Errorf("record %d: %w", n, err)
			}
			n++
			continue
		}
		rec, err := a.record()
		if err != nil {
			return fmt.Errorf("record %d: %w", n, err)
		}
		if err := emit(n, rec); err != nil {
			return err
		}
		n++
	}
	for i := range curs {
		if curs[i].pos != len(curs[i].col.D) {
			return fmt.Errorf("%w: column %d has entries after the last record", ErrCorrupt, i)
		}
	}
	if rows >= 0 && n != rows {
		return fmt.Errorf("%w: %d records, want %d", ErrCorrupt, n, rows)
	}
	return nil
}

func countDefined(c *Column, leaf *Field) int {
	n := 0
	for _, d := range c.D {
		if int(d) == leaf.maxD {
			n++
		}
	}
	return n
}

type assembler struct {
	fsm   *FSM
	curs  []cursor
	stack []open // stack[0] is the record; stack[k] a group at depth k

	// Pools of the nodes and members of the record being assembled.
	nodes       []*node
	nodesUsed   int
	members     []*member
	membersUsed int
}

// open is a group instance that later entries may still add to.
type open struct {
	field *Field
	n     *node
}

// record assembles one record. Each step consumes one entry, so the loop
// ends after at most the number of entries left.
func (a *assembler) record() (Value, error) {
	a.nodesUsed, a.membersUsed = 0, 0
	root := a.newNode()
	a.stack = append(a.stack[:0], open{n: root})
	for i := range a.curs {
		if a.curs[i].pos < len(a.curs[i].col.R) && a.curs[i].col.R[a.curs[i].pos] != 0 {
			return Value{}, fmt.Errorf("%w: column %d does not start a record", ErrCorrupt, i)
		}
	}
	i, wantR := 0, 0
	for i != End {
		c := &a.curs[i]
		if c.pos >= len(c.col.D) {
			return Value{}, fmt.Errorf("%w: column %d ends early", ErrCorrupt, i)
		}
		r, d := int(c.col.R[c.pos]), int(c.col.D[c.pos])
		if r > wantR || d > c.leaf.maxD {
			return Value{}, fmt.Errorf("%w: column %d: bad levels r=%d d=%d", ErrCorrupt, i, r, d)
		}
		if err := a.place(c, d); err != nil {
			return Value{}, fmt.Errorf("column %d: %w", i, err)
		}
		c.pos++
		nr := c.nextR()
		if nr > c.leaf.maxR {
			return Value{}, fmt.Errorf("%w: column %d: repetition level %d above the maximum", ErrCorrupt, i, nr)
		}
		next := a.fsm.Next[i][nr]
		if next != End && next <= i {
			// A new instance of the field repeated at level nr: close the
			// current one, and everything under it.
			a.stack = a.stack[:min(len(a.stack), c.leaf.repeatedAt[nr].depth)]
			wantR = nr
		} else if next != End {
			wantR = commonRL(c.leaf, a.curs[next].leaf)
		}
		i = next
	}
	for i := range a.curs {
		if a.curs[i].nextR() != 0 {
			return Value{}, fmt.Errorf("%w: column %d continues past the record", ErrCorrupt, i)
		}
	}
	return root.value(), nil
}

// skip moves every cursor past the current record: its first entry and
// the entries after it up to the next repetition level 0.
func (a *assembler) skip() error {
	for i := range a.curs {
		c := &a.curs[i]
		if c.pos >= len(c.col.D) {
			return fmt.Errorf("%w: column %d ends early", ErrCorrupt, i)
		}
		if c.col.R[c.pos] != 0 {
			return fmt.Errorf("%w: column %d does not start a record", ErrCorrupt, i)
		}
		maxD := uint8(c.leaf.maxD)
		for {
			if c.col.D[c.pos] > maxD {
				return fmt.Errorf("%w: column %d: bad definition level %d", ErrCorrupt, i, c.col.D[c.pos])
			}
			if c.col.D[c.pos] == maxD && c.leaf.Type != Null {
				c.val++
			}
			c.pos++
			if c.pos == len(c.col.D) || c.col.R[c.pos] == 0 {
				break
			}
		}
	}
	return nil
}

// place puts one entry of c, with definition level d, into the record: it
// keeps the open groups the leaf shares with the stack, opens the groups
// the entry defines beyond them, and adds the value if there is one.
func (a *assembler) place(c *cursor, d int) error {
	path := c.leaf.pathFields
	m := 0
	for m+1 < len(a.stack) && m < len(path)-1 && a.stack[m+1].field == path[m] {
		m++
	}
	a.stack = a.stack[:m+1]
	if m > 0 && d < path[m-1].maxD {
		return fmt.Errorf("%w: definition level %d below an open group", ErrCorrupt, d)
	}
	for k := m; k < len(path)-1 && path[k].maxD <= d; k++ {
		g := a.newNode()
		mem := a.add(a.stack[len(a.stack)-1].n, path[k])
		mem.groups = append(mem.groups, g)
		a.stack = append(a.stack, open{field: path[k], n: g})
	}
	if d != c.leaf.maxD {
		return nil
	}
	if len(a.stack) != len(path) {
		return fmt.Errorf("%w: value without its groups", ErrCorrupt)
	}
	v, err := c.take()
	if err != nil {
		return err
	}
	mem := a.add(a.stack[len(a.stack)-1].n, c.leaf)
	if c.leaf.Repetition == Repeated {
		mem.values = append(mem.values, v)
	} else {
		mem.one = v
	}
	return nil
}

// take returns the next value of c as JSON.
func (c *cursor) take() (Value, error) {
	if c.leaf.Type == Null {
		return Value{Kind: KindNull}, nil
	}
	i := c.val
	c.val++
	switch c.leaf.Type {
	case String:
		return Value{Kind: KindString, Str: c.col.Strs[i]}, nil
	case Int:
		return Value{Kind: KindNumber, Str: strconv.FormatInt(c.col.Ints[i], 10)}, nil
	case Bool:
		return Value{Kind: KindBool, Bool: c.col.Bools[i]}, nil
	case Number:
		s := c.col.Strs[i]
		p := parser{s: s}
		if len(s) == 0 || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
			return Value{}, fmt.Errorf("%w: bad number literal", ErrCorrupt)
		}
		if _, err := p.number(); err != nil || p.i != len(s) {
			return Value{}, fmt.Errorf("%w: bad number literal", ErrCorrupt)
		}
		return Value{Kind: KindNumber, Str: s}, nil
	case JSON:
		v, err := ParseJSON(c.col.Strs[i])
		if err != nil {
			return Value{}, fmt.Errorf("%w: bad JSON value: %v", ErrCorrupt, err)
		}
		return v, nil
	}
	return Value{}, fmt.Errorf("%w: leaf of type %s", ErrSchema, c.leaf.Type)
}
