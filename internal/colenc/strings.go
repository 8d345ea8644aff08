package colenc

import (
	"encoding/binary"
	"math"
	"slices"

	"github.com/zeebo/xxh3"
)

// flateLevel trades packing speed for size; strings that reach flate are
// the high-entropy ones where the dictionary did not pay.
const flateLevel = 6

// minFlate is the plain size below which flate is not tried.
const minFlate = 256

// AppendStrings appends vals in whichever string encoding is smallest:
//
//	const:  StrConst uvarint(len) bytes
//	plain:  StrPlain uvarint(len(L)) L bytes…    L = AppendInts of the lengths
//	dict:   StrDict  uvarint(k) uvarint(len(D)) D width:1 hybrid(indices)
//	        D = the plain, flate or hex encoding of the k distinct values
//	flate:  StrFlate uvarint(len(P)) flate(P)    P = a plain encoding, tag included
//
// Dictionary entries are in order of first appearance. vals must not be
// empty.
func AppendStrings(dst []byte, vals []string) []byte {
	dict, idx := StringDict(vals, MaxDict)
	return AppendStringsDict(dst, vals, dict, idx)
}

// Encoder chooses how hard the encoders look for the smallest encoding.
// The zero Encoder tries every encoding, flate included: the package
// functions use it. Whatever it chooses, the stream is one the decoders
// read.
type Encoder struct {
	// Fast skips the costliest trials: LZ matching and split strings.
	// Flate, when used, codes bytes with Huffman codes alone, and only
	// where a dictionary does not apply. For data rewritten soon, such as
	// segments that a merge will replace.
	Fast bool
}

// AppendStringsDict is the package's AppendStringsDict with e's effort.
func (e Encoder) AppendStringsDict(dst []byte, vals []string, dict []string, idx []uint32) []byte {
	if !e.Fast || len(dict) == 1 {
		return AppendStringsDict(dst, vals, dict, idx)
	}
	if dict == nil {
		return e.appendPlainOrFlate(dst, vals)
	}
	dst = append(dst, StrDict)
	dst = binary.AppendUvarint(dst, uint64(len(dict)))
	d := appendPlain(nil, dict)
	dst = binary.AppendUvarint(dst, uint64(len(d)))
	dst = append(dst, d...)
	return e.AppendIndexes(dst, idx, len(dict))
}

// StringDict returns the distinct values of vals in order of first
// appearance, and the index of each value in them; or nils if there are
// more than limit, or if a sample says the values are nearly all distinct
// (a dictionary would not pay, and building it costs).
func StringDict(vals []string, limit int) ([]string, []uint32) {
	var t dictTable
	idx := make([]uint32, len(vals))
	for i, v := range vals {
		k, ok := t.index(v)
		if !ok {
			if len(t.dict) >= limit {
				return nil, nil
			}
			k = t.add(v)
		}
		idx[i] = k
		if i == 1023 && len(vals) >= 4096 && len(t.dict) > 900 {
			return nil, nil
		}
	}
	return t.dict, idx
}

// dictTable finds a value's dictionary index by open addressing on its
// xxh3 hash: a column's values hash once each, and the table is a flat
// array of indexes, which a Go map of strings is not.
type dictTable struct {
	dict   []string
	hashes []uint64 // of dict's entries
	slots  []uint32 // entry index + 1, or 0 for none; len a power of 2
	h      uint64   // the hash of the value index last looked up
}

// index returns the index of v, or false if it is not in the table; add
// then adds it.
func (t *dictTable) index(v string) (uint32, bool) {
	t.h = xxh3.HashString(v)
	if len(t.slots) == 0 {
		return 0, false
	}
	mask := uint64(len(t.slots) - 1)
	for j := t.h & mask; ; j = (j + 1) & mask {
		s := t.slots[j]
		if s == 0 {
			return 0, false
		}
		if t.hashes[s-1] == t.h && t.dict[s-1] == v {
			return s - 1, true
		}
	}
}

// add adds v, which index just did not find, and returns its index.
func (t *dictTable) add(v string) uint32 {
	k := uint32(len(t.dict))
	t.dict = append(t.dict, v)
	t.hashes = append(t.hashes, t.h)
	if 2*len(t.dict) > len(t.slots) { // at most half full
		t.slots = make([]uint32, max(64, 2*len(t.slots)))
		for i, h := range t.hashes {
			t.put(h, uint32(i))
		}
		return k
	}
	t.put(t.h, k)
	return k
}

func (t *dictTable) put(h uint64, k uint32) {
	mask := uint64(len(t.slots) - 1)
	j := h & mask
	for t.slots[j] != 0 {
		j = (j + 1) & mask
	}
	t.slots[j] = k + 1
}

// AppendStringsDict is AppendStrings with the result of StringDict.
func AppendStringsDict(dst []byte, vals []string, dict []string, idx []uint32) []byte {
	if len(vals) == 0 {
		panic("colenc: internal error: no values")
	}
	if len(dict) == 1 {
		dst = append(dst, StrConst)
		dst = binary.AppendUvarint(dst, uint64(len(vals[0])))
		return append(dst, vals[0]...)
	}
	if dict == nil {
		return appendNoDict(dst, vals)
	}
	raw := 0
	for _, v := range vals {
		raw += len(v)
	}
	// With many distinct values, the split encoding often wins by far;
	// measured first, it spares encoding a dictionary that an estimate
	// says cannot come near it.
	var split []byte
	splitTried := false
	if len(vals) >= 64 && len(dict) > len(vals)/16 {
		split, splitTried = appendSplit(nil, vals), true
	}
	start := len(dst)
	dictSize := -1
	if split == nil || estimateDict(dict, idx) < len(split)+len(split)/8 {
		dst = append(dst, StrDict)
		dst = binary.AppendUvarint(dst, uint64(len(dict)))
		d := appendPlainOrFlate(nil, dict)
		dst = binary.AppendUvarint(dst, uint64(len(d)))
		dst = append(dst, d...)
		dst = AppendIndexes(dst, idx, len(dict))
		dictSize = len(dst) - start
		// A dictionary far smaller than the raw bytes cannot lose to
		// flate on the same values by much; skip measuring it.
		if dictSize <= raw/8 {
			return dst
		}
	}
	if !splitTried && len(vals) >= 64 {
		split = appendSplit(nil, vals)
	}
	best := math.MaxInt
	if dictSize >= 0 {
		best = dictSize
	}
	if split != nil {
		best = min(best, len(split))
	}
	// Compressing all the values is the costliest trial: a sample decides
	// whether it can win. The margin keeps a sample's error from costing
	// bytes.
	var pf []byte
	if sketch := plainSketch(vals); len(sketch) >= minFlate && cheapFlateEstimate(sketch) < best+best/8 {
		pf = plainOrFlateBest(vals)
	}
	if pf == nil && plainFloor(vals) <= best {
		pf = appendPlainOrHex(nil, vals)
	}
	// Without pf, plain is larger than best: it wins nothing.
	switch {
	case split != nil && (pf == nil || len(split) < len(pf)) && (dictSize < 0 || len(split) < dictSize):
		return append(dst[:start], split...)
	case pf != nil && (dictSize < 0 || len(pf) < dictSize):
		return append(dst[:start], pf...)
	}
	return dst
}

// estimateDict estimates the size of a dictionary encoding without
// compressing all of it: the entries from a sample, the indexes from
// their bit width or byte entropy, whichever is less.
func estimateDict(dict []string, idx []uint32) int {
	d := plainSketch(dict)
	size := len(d)
	if est := cheapFlateEstimate(d); est > 0 {
		size = min(size, est)
	} else {
		size = min(size, len(appendFlateBest(nil, d)))
	}
	k := len(dict)
	return size + min(packedLen(len(idx), Width(uint64(k-1))), huffmanSize(indexBytes(idx, k)))
}

// appendNoDict appends vals, too varied for a dictionary, split or plain
// or under flate, whichever is smallest. Split is measured first: when it
// applies it usually wins by far, and an estimate then spares compressing
// all the values to find that flate cannot come near it. On such values
// (identifiers with numbers in them) the estimate from a sample comes out
// below what flate makes of them all, so flate is tried only when the
// estimate beats split clearly.
func appendNoDict(dst []byte, vals []string) []byte {
	var split []byte
	if len(vals) >= 64 {
		split = appendSplit(nil, vals)
	}
	sketch := plainSketch(vals)
	var pf []byte
	if len(sketch) >= minFlate && (split == nil || cheapFlateEstimate(sketch) < len(split)-len(split)/32) {
		pf = plainOrFlateBest(vals)
	}
	if pf == nil && (split == nil || plainFloor(vals) <= len(split)) {
		pf = appendPlainOrHex(nil, vals)
	}
	if split != nil && (pf == nil || len(split) < len(pf)) {
		return append(dst, split...)
	}
	return append(dst, pf...)
}

// appendPlainOrFlate appends the plain encoding of vals, or its flate
// compression if that is smaller.
func appendPlainOrFlate(dst []byte, vals []string) []byte {
	return Encoder{}.appendPlainOrFlate(dst, vals)
}

func (e Encoder) appendPlainOrFlate(dst []byte, vals []string) []byte {
	return append(dst, e.plainOrFlate(vals)...)
}

// plainOrFlateBest returns the plain (or hex) encoding of vals, or the
// flate compression of the plain one if that is smaller.
func plainOrFlateBest(vals []string) []byte { return Encoder{}.plainOrFlate(vals) }

// plainOrFlate is plainOrFlateBest with e's effort. Digits two to a byte
// are hard to beat: flate is tried on them only where an estimate says
// it may, and never by a fast Encoder.
func (e Encoder) plainOrFlate(vals []string) []byte {
	var base, plain []byte
	if isHex(vals) {
		base = appendHex(nil, vals)
		if len(base) < minFlate || e.Fast {
			return base
		}
		if est := cheapFlateEstimate(plainSketch(vals)); est >= len(base) {
			return base
		}
		plain = appendPlain(nil, vals)
	} else {
		plain = appendPlain(nil, vals)
		base = plain
	}
	if len(plain) < minFlate {
		return base
	}
	if z := e.appendFlateBest([]byte{StrFlate}, plain); len(z) < len(base) {
		return z
	}
	return base
}

// appendPlainOrHex appends the hex encoding of vals where it applies,
// else the plain one.
func appendPlainOrHex(dst []byte, vals []string) []byte {
	if isHex(vals) {
		return appendHex(dst, vals)
	}
	return appendPlain(dst, vals)
}

// plainSketch is the plain encoding of vals with the lengths encoded
// fast: for estimates, which the lengths barely move, it spares trying
// flate on them.
func plainSketch(vals []string) []byte { return appendPlainWith(nil, vals, Encoder{Fast: true}) }

// plainFloor is a size the plain or hex encoding of vals cannot be below:
// its tag, the length of its lengths, their stream (a tag and a value at
// least), and the bytes, at best two digits to a byte.
func plainFloor(vals []string) int {
	n := 0
	for _, v := range vals {
		n += len(v)
	}
	return 4 + n/2
}

// appendPlain appends the plain encoding of vals.
func appendPlain(dst []byte, vals []string) []byte { return appendPlainWith(dst, vals, Encoder{}) }

// appendPlainWith is appendPlain with e encoding the lengths.
func appendPlainWith(dst []byte, vals []string, e Encoder) []byte {
	lens := make([]int64, len(vals))
	total := 0
	for i, v := range vals {
		lens[i] = int64(len(v))
		total += len(v)
	}
	l := e.AppendInts(nil, lens)
	dst = slices.Grow(dst, 1+binary.MaxVarintLen64+len(l)+total)
	dst = append(dst, StrPlain)
	dst = binary.AppendUvarint(dst, uint64(len(l)))
	dst = append(dst, l...)
	for _, v := range vals {
		dst = append(dst, v...)
	}
	return dst
}

// Strings is a decoded string stream: the values are Data[Offs[i]:Offs[i+1]]
// or, for a dictionary, Dict's entry Index[i]. Keeping the bytes together
// spares an allocation per value.
type Strings struct {
	Data  []byte
	Offs  []int // len(Offs) = values+1, or distinct+1 with Index
	Index []uint32
}

// Len is the number of values.
func (s *Strings) Len() int {
	if s.Index != nil {
		return len(s.Index)
	}
	return len(s.Offs) - 1
}

// Bytes returns value i; the slice shares memory with s.
func (s *Strings) Bytes(i int) []byte {
	if s.Index != nil {
		i = int(s.Index[i])
	}
	return s.Data[s.Offs[i]:s.Offs[i+1]]
}

// At returns value i as a string.
func (s *Strings) At(i int) string { return string(s.Bytes(i)) }

// DictLen is the number of dictionary entries, or 0 without a dictionary.
func (s *Strings) DictLen() int {
	if s.Index == nil {
		return 0
	}
	return len(s.Offs) - 1
}

// DictEntry returns dictionary entry i.
func (s *Strings) DictEntry(i int) []byte { return s.Data[s.Offs[i]:s.Offs[i+1]] }

// DecodeStrings decodes exactly n strings from src (one stream made by
// AppendStrings).
func DecodeStrings(src []byte, n int) (*Strings, error) {
	if n <= 0 || n > MaxValues {
		return nil, corruptf("bad count %d", n)
	}
	if len(src) == 0 {
		return nil, corruptf("empty stream")
	}
	switch src[0] {
	case StrConst:
		r := reader{b: src[1:]}
		v := r.bytes(r.uvarint())
		if err := r.done(); err != nil {
			return nil, err
		}
		return &Strings{Data: v, Offs: []int{0, len(v)}, Index: make([]uint32, n)}, nil
	case StrDict:
		r := reader{b: src[1:]}
		k := int(min(r.uvarint(), MaxDict+1))
		d := r.bytes(r.uvarint())
		if r.err != nil {
			return nil, r.err
		}
		if k == 0 || k > MaxDict {
			return nil, corruptf("dictionary of %d entries", k)
		}
		dict, err := decodePlainOrFlate(d, k)
		if err != nil {
			return nil, err
		}
		if k != len(dict.Offs)-1 {
			return nil, corruptf("dictionary of %d entries, want %d", len(dict.Offs)-1, k)
		}
		idx, err := DecodeIndexes(r.b, k, n)
		if err != nil {
			return nil, err
		}
		dict.Index = idx
		return dict, nil
	case StrPlain, StrFlate, StrHex:
		return decodePlainOrFlate(src, n)
	case StrSplit, StrSlots:
		return decodeSplit(src[1:], n, src[0] == StrSlots)
	case StrGroups:
		return nil, corruptf("grouped strings without their groups")
	}
	return nil, ErrEncoding
}

// decodePlainOrFlate decodes a plain, flate or hex stream of n strings.
func decodePlainOrFlate(src []byte, n int) (*Strings, error) {
	if len(src) == 0 {
		return nil, corruptf("empty stream")
	}
	if src[0] == StrHex {
		return decodeHex(src, n)
	}
	if src[0] == StrFlate {
		r := reader{b: src[1:]}
		p, err := inflate(&r)
		if err != nil {
			return nil, err
		}
		src = p
		if len(src) == 0 || src[0] != StrPlain {
			return nil, corruptf("flate holds no plain stream")
		}
	}
	if src[0] != StrPlain {
		return nil, ErrEncoding
	}
	offs, data, err := readOffsets(src[1:], n, 1)
	if err != nil {
		return nil, err
	}
	if offs[n] != len(data) {
		return nil, corruptf("%d bytes of strings, want %d", len(data), offs[n])
	}
	return &Strings{Data: data, Offs: offs}, nil
}

// readOffsets reads the lengths of n strings (their Ints stream, sized by
// a uvarint) at the start of src and returns their offsets and the bytes
// after the lengths, of which the strings may take at most per per byte
// (hexadecimal digits: 2).
func readOffsets(src []byte, n, per int) (offs []int, rest []byte, err error) {
	r := reader{b: src}
	l := r.bytes(r.uvarint())
	if r.err != nil {
		return nil, nil, r.err
	}
	lens, err := DecodeInts(nil, l, n)
	if err != nil {
		return nil, nil, err
	}
	room := per * len(r.b)
	offs = make([]int, len(lens)+1)
	total := 0
	for i, x := range lens {
		if x < 0 || x > int64(room-total) {
			return nil, nil, corruptf("string length %d beyond the data", x)
		}
		total += int(x)
		offs[i+1] = total
	}
	return offs, r.b, nil
}

// indexBytes lays dictionary indices out byte-aligned for flate: one byte
// each for up to 256 entries, else two, little endian.
func indexBytes(idx []uint32, k int) []byte {
	if k <= 256 {
		p := make([]byte, len(idx))
		for i, x := range idx {
			p[i] = byte(x)
		}
		return p
	}
	p := make([]byte, 0, 2*len(idx))
	for _, x := range idx {
		p = append(p, byte(x), byte(x>>8))
	}
	return p
}

// indexesOf is the inverse of indexBytes for n indices.
func indexesOf(p []byte, k, n int) ([]uint32, error) {
	size := 1
	if k > 256 {
		size = 2
	}
	if len(p) != n*size {
		return nil, corruptf("%d index bytes for %d indices", len(p), n)
	}
	idx := make([]uint32, n)
	for i := range idx {
		if size == 1 {
			idx[i] = uint32(p[i])
		} else {
			idx[i] = uint32(p[2*i]) | uint32(p[2*i+1])<<8
		}
	}
	return idx, nil
}

// AppendIndexes appends n indices, each below k (k ≥ 1), in whichever of
// two forms is smaller:
//
//	| w u8 | hybrid(indices, width w = bits(k-1)) |
//	| ff   | uvarint len(P) | raw DEFLATE of P = the indices as bytes: one each when k ≤ 256, else two, little endian |
//
// Skewed indices compress below their bit width as bytes under flate,
// whose Huffman codes come near their entropy.
func AppendIndexes(dst []byte, idx []uint32, k int) []byte {
	return Encoder{}.AppendIndexes(dst, idx, k)
}

// AppendIndexes is the package's AppendIndexes with e's effort: a fast
// Encoder keeps the bit-packed form.
func (e Encoder) AppendIndexes(dst []byte, idx []uint32, k int) []byte {
	w := Width(uint64(k - 1))
	start := len(dst)
	dst = AppendHybrid(append(dst, byte(w)), idx, w)
	if !e.Fast && len(idx) >= 128 && k > 2 {
		p := indexBytes(idx, k)
		if huffmanSize(p) >= len(dst)-start {
			return dst
		}
		z := appendFlateBest(nil, p)
		if len(z)+1 < len(dst)-start {
			dst = append(append(dst[:start], 0xff), z...)
		}
	}
	return dst
}

// DecodeIndexes decodes exactly n indices, each below k, written by
// AppendIndexes; src must hold nothing else.
func DecodeIndexes(src []byte, k, n int) ([]uint32, error) {
	if k < 1 || k > MaxValues {
		return nil, corruptf("bad index bound %d", k)
	}
	r := reader{b: src}
	w := int(r.byte())
	if r.err != nil {
		return nil, r.err
	}
	var idx []uint32
	var err error
	switch w {
	case 0xff:
		p, err := inflate(&r)
		if err != nil {
			return nil, err
		}
		if idx, err = indexesOf(p, k, n); err != nil {
			return nil, err
		}
	case Width(uint64(k - 1)):
		if idx, err = DecodeHybrid(nil, r.b, w, n); err != nil {
			return nil, err
		}
	default:
		return nil, corruptf("index width %d for %d entries", w, k)
	}
	for _, i := range idx {
		if int(i) >= k {
			return nil, corruptf("index %d of %d", i, k)
		}
	}
	return idx, nil
}
