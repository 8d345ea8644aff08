package engine

import (
	"math/bits"
	"math/rand/v2"

	"github.com/zeebo/xxh3"
)

// keySet is a set of distinct keys (xxh3-128 hashes), in open-addressing
// tables with linear probing. Keys come from values a source chose, and
// xxh3 has no secret, so a key's slot comes from mixing it with a seed of
// the process: nobody can make many keys want the same slots. The zero
// key marks an empty slot and is kept aside.
//
// A big set is split by the top bits of the slots into keySetParts
// tables, and keys wait in a batch until they go in together, a part at a
// time: a part's table fits in the processor's caches where the whole set
// would not, and each key would cost a miss. A flush loads every part's
// table once, so the batch grows with the set, to four times the keys it
// holds (from keySetBatch to keySetMaxBatch): the tables take half a cache
// line per key, so a flush then costs a miss for every eight or so keys
// it puts in, not one each.
type keySet struct {
	small   keyTable   // the set until it is big
	parts   []keyTable // the set once it is big
	inParts int        // keys in the parts
	batch   []xxh3.Uint128
	byPart  []xxh3.Uint128 // the batch in order of parts, when flushed
	hasZero bool
}

const (
	// keySetBig is the size at which a set splits into parts.
	keySetBig = 1 << 15
	// keySetParts is how many parts a big set has (1 << keySetPartBits),
	// and keySetBatch how many keys wait to go into the parts together:
	// dozens for each part, whose table then stays in cache while they
	// go in.
	keySetPartBits = 10
	keySetParts    = 1 << keySetPartBits
	keySetBatch    = 1 << 16
	keySetMaxBatch = 1 << 18

	// keyCost is the memory of a key in a set (with the tables' slack);
	// a key waiting in a batch costs keyBatchCost until it is in (its
	// copy in byPart too).
	keyCost      = 40
	keyBatchCost = 32
)

// keyTable is one open-addressing table, at most half full.
type keyTable struct {
	slots []xxh3.Uint128 // a power of two in size, or none
	n     int
}

// slotSeed makes the slots of keys unknown outside the process.
var slotSeed = [2]uint64{rand.Uint64(), rand.Uint64()}

// slotOf mixes k with slotSeed (as wyhash mixes).
func slotOf(k xxh3.Uint128) uint64 {
	hi, lo := bits.Mul64(k.Lo^slotSeed[0], k.Hi^slotSeed[1])
	return hi ^ lo
}

// insert adds k, not zero, whose slotOf is h, and reports whether it was
// new.
func (t *keyTable) insert(k xxh3.Uint128, h uint64) bool {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch t.slots[i] {
		case k:
			return false
		case xxh3.Uint128{}:
			t.slots[i] = k
			t.n++
			return true
		}
	}
}

func (t *keyTable) grow() {
	old := t.slots
	t.slots = make([]xxh3.Uint128, max(2*len(old), 16))
	t.n = 0
	for _, k := range old {
		if k != (xxh3.Uint128{}) {
			t.insert(k, slotOf(k))
		}
	}
}

// add adds k and returns the memory the set took for it (negative when
// a batch turns out to hold keys the set had).
func (s *keySet) add(k xxh3.Uint128) int64 {
	if k == (xxh3.Uint128{}) {
		if s.hasZero {
			return 0
		}
		s.hasZero = true
		return keyCost
	}
	if s.parts == nil {
		if !s.small.insert(k, slotOf(k)) {
			return 0
		}
		if s.small.n >= keySetBig {
			s.split()
		}
		return keyCost
	}
	s.batch = append(s.batch, k)
	if len(s.batch) < min(max(keySetBatch, 4*s.inParts), keySetMaxBatch) {
		return keyBatchCost
	}
	return keyBatchCost + s.flush()
}

// split moves a set that grew big into parts.
func (s *keySet) split() {
	s.parts, s.inParts = make([]keyTable, keySetParts), s.small.n
	for _, k := range s.small.slots {
		if k != (xxh3.Uint128{}) {
			h := slotOf(k)
			s.parts[h>>(64-keySetPartBits)].insert(k, h)
		}
	}
	s.small = keyTable{}
	s.batch = make([]xxh3.Uint128, 0, keySetBatch)
}

// flush puts the batch into the parts, a part at a time, and returns the
// memory that took beyond what the batch was charged.
func (s *keySet) flush() int64 {
	if len(s.batch) == 0 {
		return 0
	}
	var count [keySetParts + 1]int
	for _, k := range s.batch {
		count[slotOf(k)>>(64-keySetPartBits)+1]++
	}
	for p := 1; p <= keySetParts; p++ {
		count[p] += count[p-1]
	}
	s.byPart = append(s.byPart[:0], s.batch...)
	byPart := s.byPart
	at := count
	for _, k := range s.batch {
		p := slotOf(k) >> (64 - keySetPartBits)
		byPart[at[p]] = k
		at[p]++
	}
	added := 0
	for p := range keySetParts {
		t := &s.parts[p]
		for _, k := range byPart[count[p]:count[p+1]] {
			if t.insert(k, slotOf(k)) {
				added++
			}
		}
	}
	s.inParts += added
	grew := int64(added)*keyCost - int64(len(s.batch))*keyBatchCost
	s.batch = s.batch[:0]
	return grew
}

// len is the number of keys in the set.
func (s *keySet) len() int {
	s.flush()
	n := s.small.n + s.inParts
	if s.hasZero {
		n++
	}
	return n
}

// merge adds the keys of o, which it may take over.
func (s *keySet) merge(o *keySet) {
	if s.parts == nil && o.parts != nil {
		*s, *o = *o, *s // the small one goes into the big one
	}
	if o.hasZero {
		s.add(xxh3.Uint128{})
	}
	o.flush()
	if s.parts != nil && o.parts != nil {
		// Part by part: each of s's tables stays in cache while the keys
		// of o's go in.
		s.flush()
		for p := range o.parts {
			for _, k := range o.parts[p].slots {
				if k != (xxh3.Uint128{}) && s.parts[p].insert(k, slotOf(k)) {
					s.inParts++
				}
			}
		}
		*o = keySet{}
		return
	}
	for _, k := range o.small.slots {
		if k != (xxh3.Uint128{}) {
			s.add(k)
		}
	}
	s.flush()
	*o = keySet{}
}
