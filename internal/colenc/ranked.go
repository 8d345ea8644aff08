package colenc

import (
	"cmp"
	"encoding/binary"
	"math/bits"
	"slices"
)

// IntRanked is the encoding tag of integers as ranks in a dictionary
// ordered by frequency. Part of the format; never change.
const IntRanked byte = 6

// Ranks fall into classes: class 0 is rank 0, class c ≥ 1 the ranks
// [2^(c-1), 2^c). A value is its rank's class, entropy coded, and its
// offset in the class in c-1 raw bits (none for classes 0 and 1).
func classOf(rank uint32) int { return bits.Len32(rank) }
func classLow(c int) uint32   { return uint32(1) << c >> 1 }
func classWidth(c int) int    { return max(c-1, 0) }
func classes(k int) int       { return classOf(uint32(k-1)) + 1 }

// appendRanked appends the values that idx indexes in dict (as intDict
// returns them) as IntRanked:
//
//	| 06 | uvarint k | uvarint len(F) | F = ints(the first entry of each class) |
//	| uvarint len(G) | G = ints(the gaps between the other entries and the one before), or nothing |
//	| uvarint len(X) | X = indexes(class of each value) | offsets in their classes, c-1 bits each |
//
// The dictionary's entries are in order of rank, ranks in order of
// frequency, except that within a class they are in increasing order
// (offsets in a class cost the same whichever way): the gaps are then
// small where ids are dense. Skewed values of many distinct ones, such as
// user and item ids, cost about their entropy here, where their bit width
// or bytes under flate cost more.
func appendRanked(dst []byte, dict []int64, idx []uint32) []byte {
	k := len(dict)
	count := make([]int, k)
	for _, i := range idx {
		count[i]++
	}
	// byRank lists dictionary indexes by frequency; ties by first appearance.
	byRank := make([]uint32, k)
	for i := range byRank {
		byRank[i] = uint32(i)
	}
	slices.SortStableFunc(byRank, func(a, b uint32) int { return cmp.Compare(count[b], count[a]) })
	nc := classes(k)
	for c := range nc {
		cls := byRank[classLow(c):min(int(classLow(c+1)), k)]
		slices.SortFunc(cls, func(a, b uint32) int { return cmp.Compare(dict[a], dict[b]) })
	}
	rank := make([]uint32, k) // of each dictionary index
	for r, i := range byRank {
		rank[i] = uint32(r)
	}
	var firsts, gaps []int64
	for r, i := range byRank {
		if r == int(classLow(classOf(uint32(r)))) {
			firsts = append(firsts, dict[i])
		} else {
			gaps = append(gaps, dict[i]-dict[byRank[r-1]])
		}
	}
	dst = append(dst, IntRanked)
	dst = binary.AppendUvarint(dst, uint64(k))
	dst = appendSized(dst, AppendInts(nil, firsts))
	if len(gaps) > 0 {
		dst = appendSized(dst, AppendInts(nil, gaps))
	} else {
		dst = append(dst, 0)
	}
	cls := make([]uint32, len(idx))
	for j, i := range idx {
		cls[j] = uint32(classOf(rank[i]))
	}
	// The classes, as AppendIndexes writes them; under flate with Huffman
	// codes alone, as the classes of values in no order repeat no
	// strings, and looking for them would cost more than the rest.
	w := Width(uint64(nc - 1))
	x := AppendHybrid([]byte{byte(w)}, cls, w)
	if nc > 2 {
		if z := appendFlate([]byte{0xff}, indexBytes(cls, nc), huffmanOnly); len(z) < len(x) {
			x = z
		}
	}
	dst = appendSized(dst, x)
	// The offsets, least significant bit first; a class is at most 16,
	// so acc never holds more than 7+15 bits.
	var acc uint64
	n := 0
	for _, i := range idx {
		r := rank[i]
		c := classOf(r)
		if w := classWidth(c); w > 0 {
			acc |= uint64(r-classLow(c)) << n
			n += w
			for ; n >= 8; n -= 8 {
				dst = append(dst, byte(acc))
				acc >>= 8
			}
		}
	}
	if n > 0 {
		dst = append(dst, byte(acc))
	}
	return dst
}

// decodeRanked decodes n integers of an IntRanked stream (without its
// tag) and appends them to dst.
func decodeRanked(dst []int64, src []byte, n int) ([]int64, error) {
	r := reader{b: src}
	k := r.uvarint()
	f := r.bytes(r.uvarint())
	g := r.bytes(r.uvarint())
	x := r.bytes(r.uvarint())
	if r.err != nil {
		return dst, r.err
	}
	if k == 0 || k > MaxDict || k > uint64(n) {
		return dst, corruptf("dictionary of %d entries for %d values", k, n)
	}
	nc := classes(int(k))
	firsts, err := DecodeInts(nil, f, nc)
	if err != nil {
		return dst, err
	}
	var gaps []int64
	if int(k) > nc {
		if gaps, err = DecodeInts(nil, g, int(k)-nc); err != nil {
			return dst, err
		}
	} else if len(g) != 0 {
		return dst, corruptf("gaps without entries")
	}
	dict := make([]int64, k)
	for rank := range dict {
		if rank == int(classLow(classOf(uint32(rank)))) {
			dict[rank], firsts = firsts[0], firsts[1:]
		} else {
			dict[rank], gaps = dict[rank-1]+gaps[0], gaps[1:]
		}
	}
	cls, err := DecodeIndexes(x, nc, n)
	if err != nil {
		return dst, err
	}
	total := 0
	for _, c := range cls {
		total += classWidth(int(c))
	}
	raw := r.b
	if len(raw) != (total+7)/8 {
		return dst, corruptf("%d offset bytes, want %d", len(raw), (total+7)/8)
	}
	var low [17]uint32 // classes(MaxDict) classes at most
	var width [17]int
	for c := range nc {
		low[c], width[c] = classLow(c), classWidth(c)
	}
	start := len(dst)
	dst = grow(dst, n)
	out := dst[start:]
	pos := 0 // in bits
	for i, c := range cls {
		rank := low[c]
		if w := width[c]; w > 0 {
			rank += uint32(peekBits(raw, pos) & (1<<w - 1))
			pos += w
		}
		if rank >= uint32(k) {
			return dst[:start], corruptf("rank %d of %d", rank, k)
		}
		out[i] = dict[rank]
	}
	return dst, nil
}

// peekBits returns the bits of b from bit pos on, at least 57 of them
// where b has them, zeros beyond its end.
func peekBits(b []byte, pos int) uint64 {
	at := pos >> 3
	if at+8 <= len(b) {
		return binary.LittleEndian.Uint64(b[at:]) >> (pos & 7)
	}
	var v uint64
	for i := at; i < len(b); i++ {
		v |= uint64(b[i]) << (8 * (i - at))
	}
	return v >> (pos & 7)
}

// appendSized appends uvarint(len(b)) and b.
func appendSized(dst, b []byte) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(b))), b...)
}
