// Package dedup decides whether the store has seen a record before. A
// record's identity is a 128-bit hash, built from xxh3, of its source name
// and its canonical content (DESIGN section 3); identities are kept per time
// partition, in memory, within a budget: a partition that is not resident is
// rebuilt by the caller from what it stored (segments and the write-ahead
// log), so no byte per event is spent on disk for de-duplication.
//
// # Identity
//
// Segments do not keep a record's bytes: they keep its value (package
// dremel), with keys in the segment schema's order, strings unescaped and
// escaped again, the last of duplicate keys, no whitespace, and an added
// member "_source". An identity computed from bytes would not survive that
// round trip, so identity is defined on the JSON value, with "_source" in it:
// KeyOf(source, line) equals KeyOfStored of the record as stored and printed
// again.
//
// Canonical content treats as equal, and only as equal, what the round trip
// may change:
//
//   - key order in every object, at every depth;
//   - whitespace outside strings;
//   - how a string is spelled: "\u0041" and "A", "\/" and "/" are equal;
//     each byte of invalid UTF-8 in a string counts as U+FFFD, and a lone
//     UTF-16 surrogate escape as U+FFFD, as dremel parses and prints them;
//   - duplicate keys: the last value wins, as in dremel and encoding/json;
//     keys that differ only in bytes of invalid UTF-8 are the same key, as
//     dremel parses them.
//
// Everything else counts: values, types ("1" is not 1, null is not a missing
// member), array order, nesting, and the text of numbers (1.0 is not 1, 1e3
// is not 1000), which dremel keeps as printed. KeyOf adds the member
// "_source": source to the line's top-level object, replacing one the line
// has (the store's "_source" must win in the stored record too).
//
// The hash: a member's canonical text is its key, ':', and its value, where
// a string is its content between quotes with only '"' and '\' escaped, a
// number or literal is its text, an array is '[' its elements' texts joined
// by ',' ']', and an object is '{' followed by its 16-byte hash. A member
// hashes to xxh3-128 of its text; an object hashes to xxh3-128 of the sum,
// in each 64-bit half mod 2^64, of its members' hashes, which makes it
// independent of their order. The identity is the hash of the top-level
// object.
//
// A line that is not a JSON object as dremel.ParseEvent accepts it (invalid
// JSON, nesting deeper than dremel allows, another kind of value) breaks the
// supervisor's contract and cannot be stored as is. Its identity is
// byte-based: a hash, kept apart from the others by its seed, of the source
// name and the line without surrounding whitespace.
//
// KeyOf makes one pass over the line without allocating. Objects with
// duplicate or escaped keys, or very many keys, take a slower path through
// dremel's parser that gives the same hashes (limits.go).
package dedup

import (
	"errors"
)

// Key is a record's identity.
type Key [16]byte

// KeyOf returns the identity of line from source: the xxh3-128-based hash of
// the canonical content of the line with a member "_source": source added
// (see the package documentation).
func KeyOf(source string, line []byte) Key { return keyOf(source, line, true) }

// KeyOfStored returns the identity of a record read back from storage, which
// already holds its "_source" member: KeyOfStored(render(rec)) ==
// KeyOf(source, rawLine), where render is dremel.AppendJSON.
func KeyOfStored(line []byte) Key { return keyOf("", line, false) }

func trim(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// ErrNotResident reports that a partition must be loaded before use.
var ErrNotResident = errors.New("dedup: partition not resident")

// Index holds the identities of resident partitions, within a budget of
// entries; the least recently used partition is evicted when a new one needs
// room. Not safe for concurrent use: the ingest path owns it.
type Index struct {
	budget int // entries across all resident partitions
	used   int
	parts  map[int64]*set
	clock  uint64 // use counter, for LRU
}

// NewIndex returns an Index that keeps at most budget identities in memory.
func NewIndex(budget int) *Index {
	return &Index{budget: max(budget, 1), parts: map[int64]*set{}}
}

// Resident reports whether partition p is in memory.
func (x *Index) Resident(p int64) bool {
	_, ok := x.parts[p]
	return ok
}

// Create makes partition p resident and empty: for a partition of which
// nothing is stored yet.
func (x *Index) Create(p int64) {
	if _, ok := x.parts[p]; !ok {
		x.parts[p] = newSet(0)
		x.touch(p)
	}
}

// Load makes partition p resident with the identities keys yields, evicting
// other partitions as the budget requires.
func (x *Index) Load(p int64, keys func(yield func(Key) bool)) {
	if old, ok := x.parts[p]; ok {
		x.used -= old.n
	}
	s := newSet(0)
	x.parts[p] = s
	keys(func(k Key) bool {
		if s.add(k) {
			x.used++
		}
		return true
	})
	x.touch(p)
	x.evict(p)
}

// Add records k in partition p and reports whether it is new. It fails with
// ErrNotResident if p must be loaded first.
func (x *Index) Add(p int64, k Key) (bool, error) {
	s, ok := x.parts[p]
	if !ok {
		return false, ErrNotResident
	}
	x.touch(p)
	if !s.add(k) {
		return false, nil
	}
	x.used++
	if x.used > x.budget {
		x.evict(p)
	}
	return true, nil
}

// Remove forgets k in partition p, if p is resident: for a reservation
// undone (a run that was refused or failed to be logged).
func (x *Index) Remove(p int64, k Key) {
	if s, ok := x.parts[p]; ok && s.remove(k) {
		x.used--
	}
}

// Drop forgets partition p, e.g. when retention deleted it.
func (x *Index) Drop(p int64) {
	if s, ok := x.parts[p]; ok {
		x.used -= s.n
		delete(x.parts, p)
	}
}

// Len returns how many identities are resident.
func (x *Index) Len() int { return x.used }

func (x *Index) touch(p int64) {
	x.clock++
	x.parts[p].used = x.clock
}

// evict drops least recently used partitions other than keep until the
// budget holds or keep is all that is left.
func (x *Index) evict(keep int64) {
	for x.used > x.budget && len(x.parts) > 1 {
		var victim int64
		oldest := ^uint64(0)
		for p, s := range x.parts {
			if p != keep && s.used < oldest {
				victim, oldest = p, s.used
			}
		}
		x.Drop(victim)
	}
}

// set is an open-addressing hash set of keys. The zero key marks an empty
// slot; a real zero key (probability 2^-128) is kept in a flag.
type set struct {
	slots   []Key
	n       int
	hasZero bool
	used    uint64
}

func newSet(n int) *set {
	size := 16
	for size*3 < n*4 {
		size *= 2
	}
	return &set{slots: make([]Key, size)}
}

// add inserts k and reports whether it was new.
func (s *set) add(k Key) bool {
	if k == (Key{}) {
		if s.hasZero {
			return false
		}
		s.hasZero = true
		s.n++
		return true
	}
	if (s.n+1)*4 > len(s.slots)*3 {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	// Keys are hashes: their low bytes are already uniform.
	for i := le64(k) & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case k:
			return false
		case Key{}:
			s.slots[i] = k
			s.n++
			return true
		}
	}
}

// remove deletes k and reports whether it was there. Later keys of its
// probe run move back into the hole (Knuth's algorithm R for linear
// probing), so every key stays reachable from its home slot without
// tombstones.
func (s *set) remove(k Key) bool {
	if k == (Key{}) {
		if !s.hasZero {
			return false
		}
		s.hasZero = false
		s.n--
		return true
	}
	mask := uint64(len(s.slots) - 1)
	i := le64(k) & mask
	for s.slots[i] != k {
		if s.slots[i] == (Key{}) {
			return false
		}
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; s.slots[j] != (Key{}); j = (j + 1) & mask {
		// The key at j may fill the hole at i unless its home slot h lies
		// cyclically in (i, j]: then i is before its home.
		h := le64(s.slots[j]) & mask
		if i < j && (h <= i || h > j) || i > j && h <= i && h > j {
			s.slots[i] = s.slots[j]
			i = j
		}
	}
	s.slots[i] = Key{}
	s.n--
	return true
}

func (s *set) grow() {
	old := s.slots
	s.slots = make([]Key, len(old)*2)
	mask := uint64(len(s.slots) - 1)
	for _, k := range old {
		if k == (Key{}) {
			continue
		}
		i := le64(k) & mask
		for s.slots[i] != (Key{}) {
			i = (i + 1) & mask
		}
		s.slots[i] = k
	}
}

func le64(k Key) uint64 {
	return uint64(k[0]) | uint64(k[1])<<8 | uint64(k[2])<<16 | uint64(k[3])<<24 |
		uint64(k[4])<<32 | uint64(k[5])<<40 | uint64(k[6])<<48 | uint64(k[7])<<56
}
