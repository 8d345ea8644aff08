package dremel

import (
	"math"
	"strconv"
	"unicode/utf8"

	"stele/internal/jsonscan"
)

// FlatShredder shreds flat events, JSON objects whose members are all
// strings, numbers, booleans or nulls, straight from their text into
// columns, without building a Value per record. Most event lines are flat,
// and for them it does what ParseEvent and Shred do together, for a
// fraction of the work: the schema and columns Columns returns are those
// Shred returns for the same records (a test compares them).
//
// Add takes a line only when it is sure of that: a line that is not a flat
// event, or is not valid JSON, or has a repeated key or a key that is not
// valid UTF-8, is refused and leaves the shredder as it was; the caller
// then parses it with the general parser, which reports errors and keeps
// the rules for repeated and invalid keys in one place.
//
// AddValue does the same for a record already parsed (as a merge adds
// them, assembled from segments).
//
// String values are copied into one buffer per column, so that each
// column's values lie together in memory for the encoders that read them
// after, rather than scattered over the lines; the buffers and slices of
// one block's columns serve the next (see Recycle).
type FlatShredder struct {
	rows  int
	cols  []flatCol
	names map[string]int32 // name → first column with it; nameNext chains the rest
	start [flatNext]int32  // columns that began a record: predictions

	// spare holds the slices of the columns of the block before, which
	// the next block's columns of the same name and type reuse.
	spare  map[flatKey]flatCol
	handed []flatKey // the columns Columns returned last, in order

	pend    []flatVal // the members of the record being added
	newKeys map[string]bool
	stamp   []int // per name (its first column): the commit that last had it
	commits int   // calls of commit, numbering them for stamp
	p       parser
}

// flatKey names a column.
type flatKey struct {
	name string
	typ  Type
}

// noCols is a list of column predictions with none in it.
var noCols = [flatNext]int32{-1, -1, -1, -1, -1, -1, -1, -1}

// flatCol is one column: top-level, optional, of one name and type.
type flatCol struct {
	name     string
	typ      Type
	named    int32   // the first column with the same name
	plain    bool    // name has no byte that JSON must escape
	nameNext int32   // next column with the same name, or -1
	rows     []int32 // the records that have the column
	data     []byte  // the bytes of the string values, one after another
	ends     []int32 // where each string value ends in data
	strs     []string
	ints     []int64
	bools    []bool
	next     [flatNext]int32 // columns that followed this one in a record: predictions
}

// flatNext is how many successors of a column are remembered: events of
// a few kinds share their first fields, then each kind goes its own way.
const flatNext = 8

// maxFlatNewKeys is the most keys a record may bring that no record of
// the block had, compared pairwise for repeats; more go through a map.
const maxFlatNewKeys = 16

// flatVal is one member of a record being added: its column (or -1 for a
// key not seen before, then name holds the key) and its value.
type flatVal struct {
	col  int32
	typ  Type
	name string
	// The value: s for strings and numbers (pointing into the line, or
	// unescaped), n for ints, b for booleans.
	s     []byte
	str   string // the value, when esc: unescaped, or from a Value
	esc   bool
	n     int64
	b     bool
	named int32 // the first column of the name, or -1 for a new name
}

// Rows is the number of records added since the last Columns or Reset.
func (f *FlatShredder) Rows() int { return f.rows }

// Reset drops the records added so far.
func (f *FlatShredder) Reset() {
	f.rows = 0
	f.cols = f.cols[:0]
	f.start = noCols
	clear(f.names)
	f.stamp = f.stamp[:0]
}

// Add adds line, one JSON event, if it is flat, and reports whether it
// did; otherwise nothing changes.
func (f *FlatShredder) Add(line []byte) bool {
	f.pend = f.pend[:0]
	i := flatSpace(line, 0)
	if i >= len(line) || line[i] != '{' {
		return false
	}
	i = flatSpace(line, i+1)
	if i < len(line) && line[i] == '}' {
		i = flatSpace(line, i+1)
		if i != len(line) {
			return false
		}
		f.rows++
		return true
	}
	prev := int32(-1)
	for {
		if i >= len(line) || line[i] != '"' {
			return false
		}
		f.pend = append(f.pend, flatVal{})
		v := &f.pend[len(f.pend)-1]
		var key []byte
		kc := f.matchKey(prev, line, i)
		if kc >= 0 {
			i += len(f.cols[kc].name) + 2
		} else {
			k, esc, j, ok := flatString(line, i)
			if !ok {
				return false
			}
			if esc {
				s, ok := f.unescape(line[i:j])
				if !ok {
					return false
				}
				k = []byte(s)
			}
			key, i = k, j
		}
		i = flatSpace(line, i)
		if i >= len(line) || line[i] != ':' {
			return false
		}
		i = flatSpace(line, i+1)
		if i >= len(line) {
			return false
		}
		switch c := line[i]; {
		case c == '"':
			s, esc, j, ok := flatString(line, i)
			if !ok {
				return false
			}
			v.typ, v.s = String, s
			if esc {
				if v.str, ok = f.unescape(line[i:j]); !ok {
					return false
				}
				v.esc = true
			}
			i = j
		case c == '-' || (c >= '0' && c <= '9'):
			j := jsonscan.NumberEnd(line, i)
			if j < 0 {
				return false
			}
			v.s = line[i:j]
			if n, ok := canonicalIntBytes(v.s); ok {
				v.typ, v.n = Int, n
			} else {
				v.typ = Number
			}
			i = j
		case c == 't':
			if !hasWord(line, i, "true") {
				return false
			}
			v.typ, v.b = Bool, true
			i += 4
		case c == 'f':
			if !hasWord(line, i, "false") {
				return false
			}
			v.typ = Bool
			i += 5
		case c == 'n':
			if !hasWord(line, i, "null") {
				return false
			}
			v.typ = Null
			i += 4
		default:
			return false // nested, or not JSON
		}
		switch {
		case kc >= 0:
			v.named = f.cols[kc].named
			v.col = f.ofType(v.named, v.typ)
			if v.col < 0 {
				v.name = f.cols[kc].name
			}
		default:
			if !utf8.Valid(key) {
				return false // the parser changes such keys
			}
			v.col = find(f, prev, key, v.typ)
			if v.col >= 0 {
				v.named = f.cols[v.col].named
				break
			}
			v.name = string(key)
			v.named = nameOf(f, key)
		}
		prev = v.col
		i = flatSpace(line, i)
		if i >= len(line) {
			return false
		}
		if line[i] == '}' {
			if flatSpace(line, i+1) != len(line) {
				return false
			}
			break
		}
		if line[i] != ',' {
			return false
		}
		i = flatSpace(line, i+1)
	}
	return f.commit()
}

// AddValue adds record, as the general path would shred it (Shred), if
// it is a flat event: an object whose members are strings, numbers,
// booleans, nulls or JSON text (KindRaw), without repeated keys. It
// reports whether it did; otherwise nothing changes. Keys are taken as
// they are, as Shred takes them. Its strings are copied.
func (f *FlatShredder) AddValue(record *Value) bool {
	if record.Kind != KindObject {
		return false
	}
	f.pend = f.pend[:0]
	prev := int32(-1)
	for i := range record.Members {
		m := &record.Members[i]
		f.pend = append(f.pend, flatVal{})
		v := &f.pend[len(f.pend)-1]
		switch m.Value.Kind {
		case KindString:
			v.typ, v.str, v.esc = String, m.Value.Str, true
		case KindNumber:
			if n, ok := canonicalInt(m.Value.Str); ok {
				v.typ, v.n = Int, n
			} else {
				v.typ, v.str, v.esc = Number, m.Value.Str, true
			}
		case KindBool:
			v.typ, v.b = Bool, m.Value.Bool
		case KindNull:
			v.typ = Null
		case KindRaw:
			v.typ, v.str, v.esc = JSON, m.Value.Str, true
		default:
			return false
		}
		v.col = find(f, prev, m.Key, v.typ)
		if v.col >= 0 {
			v.named = f.cols[v.col].named
		} else {
			v.name = m.Key
			v.named = nameOf(f, m.Key)
		}
		prev = v.col
	}
	return f.commit()
}

// commit adds the record in f.pend, unless a key repeats or it would make
// too many columns.
func (f *FlatShredder) commit() bool {
	if f.rows >= math.MaxInt32 {
		return false // rows are numbered in int32s
	}
	f.commits++
	rec := f.commits
	fresh := 0
	for k := range f.pend {
		v := &f.pend[k]
		if v.named >= 0 {
			if f.stamp[v.named] == rec {
				return false
			}
			f.stamp[v.named] = rec
		}
		if v.col < 0 {
			fresh++
		} else if len(f.cols[v.col].data)+len(v.s)+len(v.str) > math.MaxInt32 {
			return false // string ends are int32s
		}
	}
	if fresh > 0 {
		if len(f.cols)+fresh > MaxLeaves {
			return false
		}
		if !f.distinctNewNames() {
			return false
		}
	}
	prev := int32(-1)
	for k := range f.pend {
		v := &f.pend[k]
		if v.col < 0 {
			v.col = f.addCol(v.name, v.typ, v.named)
			if v.named < 0 {
				// A later member with the same new name is a repeat,
				// which distinctNewNames ruled out.
				f.stamp[v.col] = rec
			}
		}
		c := &f.cols[v.col]
		c.rows = append(c.rows, int32(f.rows))
		switch v.typ {
		case String, Number, JSON:
			if v.esc {
				c.data = append(c.data, v.str...)
			} else {
				c.data = append(c.data, v.s...)
			}
			c.ends = append(c.ends, int32(len(c.data)))
		case Int:
			c.ints = append(c.ints, v.n)
		case Bool:
			c.bools = append(c.bools, v.b)
		}
		f.predict(prev, v.col)
		prev = v.col
	}
	f.rows++
	return true
}

// distinctNewNames reports whether the keys of f.pend not seen before are
// distinct from one another (a known name's repeat is caught by stamp).
func (f *FlatShredder) distinctNewNames() bool {
	n := 0
	for k := range f.pend {
		if f.pend[k].named < 0 {
			n++
		}
	}
	if n <= maxFlatNewKeys {
		for a := range f.pend {
			if f.pend[a].named >= 0 {
				continue
			}
			for b := a + 1; b < len(f.pend); b++ {
				if f.pend[b].named < 0 && f.pend[a].name == f.pend[b].name {
					return false
				}
			}
		}
		return true
	}
	if f.newKeys == nil {
		f.newKeys = make(map[string]bool)
	}
	clear(f.newKeys)
	for k := range f.pend {
		if v := &f.pend[k]; v.named < 0 {
			if f.newKeys[v.name] {
				return false
			}
			f.newKeys[v.name] = true
		}
	}
	return true
}

// find returns the column of key and typ, or -1: first among the columns
// that followed prev before (or began a record, for prev -1), then by
// name.
func find[K string | []byte](f *FlatShredder, prev int32, key K, typ Type) int32 {
	guess := &f.start
	if prev >= 0 {
		guess = &f.cols[prev].next
	}
	for _, k := range guess {
		if k >= 0 && int(k) < len(f.cols) { // the zero FlatShredder's guesses are 0
			if c := &f.cols[k]; c.typ == typ && c.name == string(key) {
				return k
			}
		}
	}
	k, ok := f.names[string(key)]
	if !ok {
		return -1
	}
	for ; k >= 0; k = f.cols[k].nameNext {
		if f.cols[k].typ == typ {
			return k
		}
	}
	return -1
}

// matchKey returns the column, among those that followed prev before
// (or began a record), whose name the key at line[i] (a '"') is, written
// without escapes; or -1. Names with bytes that must be escaped are
// skipped: their keys cannot be written so.
func (f *FlatShredder) matchKey(prev int32, line []byte, i int) int32 {
	guess := &f.start
	if prev >= 0 {
		guess = &f.cols[prev].next
	}
	rest := line[i+1:]
	for _, k := range guess {
		if k < 0 || int(k) >= len(f.cols) { // the zero FlatShredder's guesses are 0
			continue
		}
		c := &f.cols[k]
		if n := len(c.name); c.plain && n < len(rest) && rest[n] == '"' && string(rest[:n]) == c.name {
			return k
		}
	}
	return -1
}

// ofType returns the column of type typ among those named like column
// named, the first of its name; or -1.
func (f *FlatShredder) ofType(named int32, typ Type) int32 {
	for k := named; k >= 0; k = f.cols[k].nameNext {
		if f.cols[k].typ == typ {
			return k
		}
	}
	return -1
}

// nameOf returns the first column named key, or -1.
func nameOf[K string | []byte](f *FlatShredder, key K) int32 {
	if k, ok := f.names[string(key)]; ok {
		return k
	}
	return -1
}

// addCol adds the column name, typ; named is the first column of that
// name, or -1 if there is none.
func (f *FlatShredder) addCol(name string, typ Type, named int32) int32 {
	k := int32(len(f.cols))
	// A key that a line may spell without escapes; one of invalid UTF-8
	// (from AddValue) is not, for the parser would change it.
	c := flatCol{name: name, typ: typ, named: named, nameNext: -1, next: noCols, plain: utf8.ValidString(name)}
	for i := 0; i < len(name); i++ {
		if strSpecial[name[i]] {
			c.plain = false
		}
	}
	if spare, ok := f.spare[flatKey{name, typ}]; ok {
		// The block before had this column: its slices have about the
		// capacity this one will need.
		c.rows, c.data, c.ends = spare.rows[:0], spare.data[:0], spare.ends[:0]
		c.strs, c.ints, c.bools = spare.strs[:0], spare.ints[:0], spare.bools[:0]
		delete(f.spare, flatKey{name, typ})
	}
	if named < 0 {
		if f.names == nil {
			f.names = make(map[string]int32)
		}
		f.names[name] = k
		c.named = k
	} else {
		last := named
		for f.cols[last].nameNext >= 0 {
			last = f.cols[last].nameNext
		}
		f.cols[last].nameNext = k
	}
	f.cols = append(f.cols, c)
	f.stamp = append(f.stamp, 0)
	return k
}

// predict notes that col followed prev (or began a record, for prev -1):
// a column not yet among the predictions goes first, pushing the last
// out; one already there stays where it is, so that columns with a few
// successors in turn cost no reordering.
func (f *FlatShredder) predict(prev, col int32) {
	next := &f.start
	if prev >= 0 {
		next = &f.cols[prev].next
	}
	for _, k := range next {
		if k == col {
			return
		}
	}
	copy(next[1:], next[:flatNext-1])
	next[0] = col
}

// strings returns the column's string values, made from one copy of
// data, so that they lie together in memory for the encoders that read
// them after; the slice reuses c.strs.
func (c *flatCol) strings() []string {
	if len(c.ends) == 0 {
		return nil
	}
	all := string(c.data)
	strs := c.strs[:0]
	start := int32(0)
	for _, end := range c.ends {
		strs = append(strs, all[start:end])
		start = end
	}
	return strs
}

// keepSpare keeps the slices of f's columns that no caller sees (row
// lists, string bytes) for the next block's columns of the same names and
// types; Recycle adds their values' slices.
func (f *FlatShredder) keepSpare() {
	if f.spare == nil {
		f.spare = make(map[flatKey]flatCol)
	}
	clear(f.spare)
	f.handed = f.handed[:0]
	for k := range f.cols {
		c := &f.cols[k]
		key := flatKey{c.name, c.typ}
		f.spare[key] = flatCol{rows: c.rows[:0], data: c.data[:0], ends: c.ends[:0]}
		f.handed = append(f.handed, key)
	}
}

// Recycle gives back the columns the last Columns returned, once the
// caller is done with them: the next block's columns of the same names
// and types reuse their memory.
func (f *FlatShredder) Recycle(cols []Column) {
	if len(cols) != len(f.handed) {
		return
	}
	for k, key := range f.handed {
		sp, ok := f.spare[key]
		if !ok {
			continue
		}
		c := &cols[k]
		clear(c.Strs) // let the strings go
		sp.strs, sp.ints, sp.bools = c.Strs[:0], c.Ints[:0], c.Bools[:0]
		f.spare[key] = sp
		*c = Column{}
	}
	f.handed = f.handed[:0]
}

// unescape returns the value of the JSON string token tok (quotes
// included), as the general parser reads it.
func (f *FlatShredder) unescape(tok []byte) (string, bool) {
	f.p.s, f.p.i = string(tok), 0
	s, err := f.p.str()
	if err != nil || f.p.i != len(f.p.s) {
		return "", false
	}
	return s, true
}

// Columns returns the schema of the records added and their columns, as
// Shred(name, records) does, and resets f. The columns are the caller's.
func (f *FlatShredder) Columns(name string) (*Schema, []Column, error) {
	root := &Field{Name: name, Type: Group}
	cols := make([]Column, len(f.cols))
	zeros := make([]uint8, f.rows) // no column has repetition: one R for all
	for k := range f.cols {
		c := &f.cols[k]
		root.Children = append(root.Children, &Field{Name: c.name, Repetition: Optional, Type: c.typ})
		d := make([]uint8, f.rows)
		for _, r := range c.rows {
			d[r] = 1
		}
		cols[k] = Column{R: zeros, D: d, Strs: c.strings(), Ints: c.ints, Bools: c.bools}
	}
	f.keepSpare()
	f.cols = nil
	f.Reset()
	s, err := NewSchema(root)
	if err != nil {
		return nil, nil, err
	}
	return s, cols, nil
}

// AppendValues appends the records added so far, as the general parser
// would have given them (but for the order of their members, which is the
// columns' and gives the same schema), and resets f: for a block that
// turns out not to be flat after all.
func (f *FlatShredder) AppendValues(dst []Value) []Value {
	next := make([]int, len(f.cols)) // per column: its next value
	for k := range f.cols {
		f.cols[k].strs = f.cols[k].strings()
	}
	for row := range f.rows {
		var ms []Member
		for k := range f.cols {
			c := &f.cols[k]
			j := next[k]
			if j >= len(c.rows) || int(c.rows[j]) != row {
				continue
			}
			var v Value
			switch c.typ {
			case String:
				v = Value{Kind: KindString, Str: c.strs[j]}
			case Number:
				v = Value{Kind: KindNumber, Str: c.strs[j]}
			case Int:
				v = Value{Kind: KindNumber, Str: strconv.FormatInt(c.ints[j], 10)}
			case Bool:
				v = Value{Kind: KindBool, Bool: c.bools[j]}
			case Null:
				v = Value{Kind: KindNull}
			case JSON:
				v = Value{Kind: KindRaw, Str: c.strs[j]}
			}
			next[k]++
			ms = append(ms, Member{Key: c.name, Value: v})
		}
		dst = append(dst, Value{Kind: KindObject, Members: ms})
	}
	f.cols = nil
	f.Reset()
	return dst
}

// flatSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func flatSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// flatString scans the JSON string token at b[i] (a '"'): it returns its
// bytes between the quotes, whether they hold an escape, and the index
// after the closing quote.
func flatString(b []byte, i int) (s []byte, esc bool, end int, ok bool) {
	start := i + 1
	for j := start; j < len(b); j++ {
		c := b[j]
		if !strSpecial[c] {
			continue
		}
		switch {
		case c == '"':
			return b[start:j], esc, j + 1, true
		case c == '\\':
			esc = true
			j++ // the escaped byte cannot end the string
		default:
			return nil, false, 0, false // a control character
		}
	}
	return nil, false, 0, false
}

// strSpecial marks the bytes that end or escape a JSON string, or may not
// be in one.
var strSpecial = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// hasWord reports whether b holds word at i.
func hasWord(b []byte, i int, word string) bool {
	return len(b)-i >= len(word) && string(b[i:i+len(word)]) == word
}

// canonicalIntBytes is canonicalInt of a literal in bytes.
func canonicalIntBytes(b []byte) (int64, bool) {
	return canonicalInt(string(b))
}
