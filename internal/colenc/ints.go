package colenc

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// Encoding tags: the first byte of every encoded value stream. Part of the
// format; never change.
const (
	IntConst  byte = 1 // varint(v)
	IntFOR    byte = 2 // varint(min) width:1 packed(v-min)
	IntDelta  byte = 3 // varint(first) varint(minDelta) uvarint(divisor) width:1 packed((d-minDelta)/divisor)
	IntDict   byte = 4 // uvarint(k) varint(dict[i])… indexes (AppendIndexes)
	IntFlate  byte = 5 // varint(min) uvarint(len(P)) flate(P), P = uvarint(v-min)…
	StrConst  byte = 16
	StrPlain  byte = 17
	StrDict   byte = 18
	StrFlate  byte = 19
	BoolRLE   byte = 32
	LevelsRLE byte = 48 // only named for inspection; levels carry no tag
)

// EncodingName names an encoding tag for inspection.
func EncodingName(tag byte) string {
	switch tag {
	case IntConst, StrConst:
		return "const"
	case IntFOR:
		return "for"
	case IntDelta:
		return "delta"
	case IntDict, StrDict:
		return "dict"
	case IntFlate:
		return "flate"
	case IntRanked:
		return "ranked"
	case StrPlain:
		return "plain"
	case StrFlate:
		return "flate"
	case StrSplit:
		return "split"
	case StrSlots:
		return "slots"
	case StrGroups:
		return "groups"
	case StrHex:
		return "hex"
	case BoolRLE, LevelsRLE:
		return "rle"
	}
	return "unknown"
}

// AppendInts appends vals in whichever integer encoding is smallest for
// them: constant, frame of reference, delta (with the deltas' common
// divisor taken out, which suits nanosecond timestamps of coarser clocks),
// or a dictionary with run-length / bit-packed indices. It returns the
// extended slice. vals must not be empty.
func AppendInts(dst []byte, vals []int64) []byte { return Encoder{}.AppendInts(dst, vals) }

// AppendInts is the package's AppendInts with e's effort: a fast Encoder
// does not try flate.
func (e Encoder) AppendInts(dst []byte, vals []int64) []byte {
	if len(vals) == 0 {
		panic("colenc: internal error: no values")
	}
	lo, hi := vals[0], vals[0]
	for _, v := range vals {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo == hi {
		return appendVarint(append(dst, IntConst), lo)
	}
	forW := Width(uint64(hi) - uint64(lo))
	best, bestSize := IntFOR, packedLen(len(vals), forW)+11

	dMin, divisor, dW, deltaOK := deltaParams(vals)
	if deltaOK {
		if size := packedLen(len(vals)-1, dW) + 31; size < bestSize {
			best, bestSize = IntDelta, size
		}
	}
	var dict []int64
	var idx []uint32
	var ranked []byte
	switch {
	case !e.Fast && len(vals) >= minRanked:
		dict, idx = intDict(vals, min(len(vals)*3/4, MaxDict))
		if len(dict) > maxFlatDict {
			// Too many values for IntDict to pay; IntRanked may, where
			// they are skewed.
			// It decodes slower than the others, which win if it is not
			// smaller by a margin.
			ranked = appendRanked(nil, dict, idx)
			if size := len(ranked) + len(ranked)/rankedMargin; size < bestSize {
				best, bestSize = IntRanked, size
			}
		}
		if len(dict) > min(len(vals)/4, 4096) {
			dict = nil
		}
	case len(vals) >= 16:
		dict, idx = intDict(vals, min(len(vals)/4, 4096))
	}
	// Skewed values (durations, sizes) compress below their bit width as
	// varints under flate.
	tryFlate := !e.Fast && len(vals) >= 128
	var p []byte
	pSize := 0
	if tryFlate {
		p = make([]byte, 0, len(vals)*2)
		for _, v := range vals {
			p = binary.AppendUvarint(p, uint64(v)-uint64(lo))
		}
		pSize = huffmanSize(p)
	}
	start := len(dst)
	if dict != nil {
		de := e
		if tryFlate && len(dict) <= 256 && len(p) == len(vals) {
			// Each value is one varint byte, as each index would be: the
			// varints under flate code the same symbols as the indexes
			// under flate, without the dictionary. Only the bit-packed
			// indexes can win, and trying flate on them is wasted.
			de.Fast = true
		}
		dst = de.appendIntDict(dst, dict, idx)
		if len(dst)-start < bestSize {
			bestSize = len(dst) - start
			best = IntDict
		} else {
			dst = dst[:start]
		}
	}
	if tryFlate {
		if pSize < bestSize {
			z := appendFlateBest(appendVarint([]byte{IntFlate}, lo), p)
			if len(z) < bestSize {
				return append(dst[:start], z...)
			}
		}
	}
	if best == IntDict {
		return dst
	}
	switch best {
	case IntRanked:
		return append(dst, ranked...)
	case IntDelta:
		dst = append(dst, IntDelta)
		dst = appendVarint(dst, vals[0])
		dst = appendVarint(dst, dMin)
		dst = binary.AppendUvarint(dst, divisor)
		dst = append(dst, byte(dW))
		ks := make([]uint64, len(vals)-1)
		for i := 1; i < len(vals); i++ {
			ks[i-1] = (uint64(vals[i]-vals[i-1]) - uint64(dMin)) / divisor
		}
		return appendPacked(dst, ks, dW)
	default:
		dst = append(dst, IntFOR)
		dst = appendVarint(dst, lo)
		dst = append(dst, byte(forW))
		ks := make([]uint64, len(vals))
		for i, v := range vals {
			ks[i] = uint64(v) - uint64(lo)
		}
		return appendPacked(dst, ks, forW)
	}
}

// deltaParams returns the smallest delta, the greatest common divisor of
// the deltas' distances from it, and the packed width. Arithmetic is
// modulo 2⁶⁴ throughout, which decoding undoes exactly.
func deltaParams(vals []int64) (dMin int64, divisor uint64, w int, ok bool) {
	if len(vals) < 2 {
		return 0, 0, 0, false
	}
	dMin = math.MaxInt64
	for i := 1; i < len(vals); i++ {
		dMin = min(dMin, vals[i]-vals[i-1])
	}
	var g, hi uint64
	for i := 1; i < len(vals); i++ {
		k := uint64(vals[i]-vals[i-1]) - uint64(dMin)
		if g != 1 { // gcd(1, k) is 1, and dividing is slow
			g = gcd(g, k)
		}
		hi = max(hi, k)
	}
	if g == 0 {
		g = 1
	}
	return dMin, g, Width(hi / g), true
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// minRanked is the fewest values for which IntRanked is tried, and
// maxFlatDict the most distinct values for which it is not: below,
// IntDict's indexes under flate come as near their entropy. IntRanked
// counts as 1/rankedMargin larger than it is when encodings are compared.
const (
	minRanked    = 128
	maxFlatDict  = 256
	rankedMargin = 32
)

// intDict returns the distinct values in order of first appearance and
// the index of each value in them; or nils if there are more than limit,
// or if a sample says there will be (as in StringDict).
func intDict(vals []int64, limit int) ([]int64, []uint32) {
	var t intTable
	idx := make([]uint32, len(vals))
	for i, v := range vals {
		k, ok := t.index(v)
		if !ok {
			if len(t.keys) >= limit {
				return nil, nil
			}
			k = t.add(v)
		}
		idx[i] = k
		if i == 1023 && len(vals) >= 4096 && len(t.keys) > 900 {
			return nil, nil
		}
	}
	return t.keys, idx
}

// intTable finds a value's dictionary index by open addressing on a
// multiplicative hash: a flat array of indexes, which a Go map is not.
type intTable struct {
	keys  []int64
	slots []uint32 // key index + 1, or 0 for none; len 1<<(64-shift)
	shift uint
}

func (t *intTable) slot(v int64) uint64 { return uint64(v) * 0x9e3779b97f4a7c15 >> t.shift }

// index returns the index of v, or false if it is not in the table.
func (t *intTable) index(v int64) (uint32, bool) {
	if len(t.slots) == 0 {
		return 0, false
	}
	mask := uint64(len(t.slots) - 1)
	for j := t.slot(v); ; j = (j + 1) & mask {
		s := t.slots[j]
		if s == 0 {
			return 0, false
		}
		if t.keys[s-1] == v {
			return s - 1, true
		}
	}
}

// add adds v, which index just did not find, and returns its index.
func (t *intTable) add(v int64) uint32 {
	k := uint32(len(t.keys))
	t.keys = append(t.keys, v)
	if 2*len(t.keys) > len(t.slots) { // at most half full
		n := max(64, 2*len(t.slots))
		t.slots = make([]uint32, n)
		t.shift = uint(64 - bits.Len(uint(n-1)))
		for i, key := range t.keys {
			t.put(key, uint32(i))
		}
		return k
	}
	t.put(v, k)
	return k
}

func (t *intTable) put(v int64, k uint32) {
	mask := uint64(len(t.slots) - 1)
	j := t.slot(v)
	for t.slots[j] != 0 {
		j = (j + 1) & mask
	}
	t.slots[j] = k + 1
}

func (e Encoder) appendIntDict(dst []byte, dict []int64, idx []uint32) []byte {
	dst = append(dst, IntDict)
	dst = binary.AppendUvarint(dst, uint64(len(dict)))
	for _, v := range dict {
		dst = appendVarint(dst, v)
	}
	return e.AppendIndexes(dst, idx, len(dict))
}

// DecodeInts decodes exactly n integers from src (one stream made by
// AppendInts) and appends them to dst.
func DecodeInts(dst []int64, src []byte, n int) ([]int64, error) {
	if n <= 0 || n > MaxValues {
		return dst, corruptf("bad count %d", n)
	}
	r := reader{b: src}
	switch tag := r.byte(); tag {
	case IntConst:
		v := r.varint()
		if err := r.done(); err != nil {
			return dst, err
		}
		for range n {
			dst = append(dst, v)
		}
		return dst, nil
	case IntFOR:
		lo := r.varint()
		w := int(r.byte())
		if r.err == nil && w > 64 {
			return dst, corruptf("width %d", w)
		}
		body := r.bytes(uint64(packedLen(n, w)))
		if err := r.done(); err != nil {
			return dst, err
		}
		start := len(dst)
		dst = grow(dst, n)
		out := dst[start:]
		if err := unpack(out, body, w); err != nil {
			return dst[:start], err
		}
		for i, k := range out {
			out[i] = int64(uint64(lo) + uint64(k))
		}
		return dst, nil
	case IntDelta:
		first := r.varint()
		dMin := r.varint()
		divisor := r.uvarint()
		w := int(r.byte())
		if r.err == nil && (w > 64 || divisor == 0) {
			return dst, corruptf("width %d, divisor %d", w, divisor)
		}
		body := r.bytes(uint64(packedLen(n-1, w)))
		if err := r.done(); err != nil {
			return dst, err
		}
		start := len(dst)
		dst = grow(dst, n)
		out := dst[start:]
		if err := unpack(out[1:], body, w); err != nil {
			return dst[:start], err
		}
		out[0] = first
		v := uint64(first)
		for i, k := range out[1:] {
			hi, lo := bits.Mul64(uint64(k), divisor)
			if hi != 0 {
				return dst[:start], corruptf("delta overflows")
			}
			v += uint64(dMin) + lo
			out[i+1] = int64(v)
		}
		return dst, nil
	case IntFlate:
		lo := r.varint()
		p, err := inflate(&r)
		if err != nil {
			return dst, err
		}
		if len(p) < n {
			return dst, corruptf("%d varint bytes for %d values", len(p), n)
		}
		start := len(dst)
		dst = grow(dst, n)
		out := dst[start:]
		for i := range out {
			k, m := binary.Uvarint(p)
			if m <= 0 {
				return dst[:start], corruptf("bad varint")
			}
			p = p[m:]
			out[i] = int64(uint64(lo) + k)
		}
		if len(p) != 0 {
			return dst[:start], corruptf("%d trailing bytes", len(p))
		}
		return dst, nil
	case IntRanked:
		return decodeRanked(dst, r.b, n)
	case IntDict:
		k := r.uvarint()
		if r.err == nil && (k == 0 || k > MaxDict || k > uint64(len(r.b))) {
			return dst, corruptf("dictionary of %d entries", k)
		}
		var dict []int64
		for i := uint64(0); i < k && r.err == nil; i++ {
			dict = append(dict, r.varint())
		}
		if r.err != nil {
			return dst, r.err
		}
		idx, err := DecodeIndexes(r.b, int(k), n)
		if err != nil {
			return dst, err
		}
		for _, i := range idx {
			dst = append(dst, dict[i])
		}
		return dst, nil
	default:
		if r.err != nil {
			return dst, r.err
		}
		return dst, ErrEncoding
	}
}

// grow extends dst by n elements. n has been checked against the bytes
// that hold the values, or against MaxValues.
func grow[T any](dst []T, n int) []T {
	if cap(dst)-len(dst) < n {
		nd := make([]T, len(dst), len(dst)+n)
		copy(nd, dst)
		dst = nd
	}
	return dst[:len(dst)+n]
}
