package colenc

import (
	"encoding/binary"
	"strconv"
	"strings"
)

// Encoding tags of strings split into a skeleton and numbers. Part of
// the format; never change.
const (
	StrSplit byte = 0x14 // the numbers in one stream
	StrSlots byte = 0x15 // the numbers in a stream per slot
)

// numberMark stands for a number in a skeleton; values holding it are not
// split.
const numberMark = 0

// maxNumberDigits is the longest digit run taken out as a number: 18
// digits always fit an int64.
const maxNumberDigits = 18

// appendSkeleton appends v with every number replaced by numberMark to
// skel, and the numbers to nums. A number is a maximal run of ASCII digits
// without a leading zero (or the single digit 0) of at most
// maxNumberDigits digits; printing it with strconv gives the run back.
// It reports false if v holds numberMark itself.
func appendSkeleton(skel []byte, nums []int64, v string) ([]byte, []int64, bool) {
	for i := 0; i < len(v); {
		c := v[i]
		if c == numberMark {
			return skel, nums, false
		}
		if c < '0' || c > '9' {
			skel = append(skel, c)
			i++
			continue
		}
		j := i
		for j < len(v) && v[j] >= '0' && v[j] <= '9' {
			j++
		}
		run := v[i:j]
		if (run[0] != '0' || len(run) == 1) && len(run) <= maxNumberDigits {
			var n int64
			for k := 0; k < len(run); k++ {
				n = n*10 + int64(run[k]-'0')
			}
			skel = append(skel, numberMark)
			nums = append(nums, n)
		} else {
			skel = append(skel, run...)
		}
		i = j
	}
	return skel, nums, true
}

// split is a column of strings taken apart by appendSkeleton: the
// distinct skeletons in order of first appearance, the index of each
// value's skeleton, and the numbers of all the values in order.
type split struct {
	skels []string
	idx   []uint32
	nums  []int64
}

// splitStrings takes vals apart, or returns nil when splitting does not
// apply: no numbers, a value holding numberMark, or too many distinct
// skeletons to pay.
func splitStrings(vals []string) *split {
	index := make(map[string]uint32)
	sp := &split{idx: make([]uint32, len(vals))}
	var buf []byte
	limit := min(len(vals)/4+1, MaxDict)
	for i, v := range vals {
		var ok bool
		buf, sp.nums, ok = appendSkeleton(buf[:0], sp.nums, v)
		if !ok {
			return nil
		}
		k, seen := index[string(buf)]
		if !seen {
			if len(sp.skels) >= limit {
				return nil
			}
			k = uint32(len(sp.skels))
			s := string(buf)
			index[s] = k
			sp.skels = append(sp.skels, s)
		}
		sp.idx[i] = k
		if i == 255 && len(sp.skels) > 64 {
			return nil // a sample says the skeletons are too varied to pay
		}
	}
	if len(sp.nums) == 0 {
		return nil
	}
	return sp
}

// slots returns the numbers of each slot, a slot being a place for a
// number in a skeleton: slots are in order of skeleton, then place, and
// hold their numbers in order of value.
func (sp *split) slots() [][]int64 {
	marks := make([]int, len(sp.skels))
	first := make([]int, len(sp.skels)+1) // the skeleton's first slot
	for i, s := range sp.skels {
		marks[i] = strings.Count(s, string(rune(numberMark)))
		first[i+1] = first[i] + marks[i]
	}
	uses := make([]int, len(sp.skels))
	for _, k := range sp.idx {
		uses[k]++
	}
	slots := make([][]int64, first[len(sp.skels)])
	for k := range sp.skels {
		for m := range marks[k] {
			slots[first[k]+m] = make([]int64, 0, uses[k])
		}
	}
	j := 0
	for _, k := range sp.idx {
		for m := range marks[k] {
			slots[first[k]+m] = append(slots[first[k]+m], sp.nums[j])
			j++
		}
	}
	return slots
}

// appendSplit appends vals as StrSplit or StrSlots, whichever is smaller,
// or returns nil when splitting does not apply (see splitStrings):
//
//	| 14 | uvarint k | uvarint len(D) | D = plain or flate of the k skeletons |
//	| uvarint len(X) | X = indexes(skeleton of each value) | ints(the numbers, in order) or nothing |
//
//	| 15 | uvarint k | uvarint len(D) | D | uvarint len(X) | X |   as StrSplit, then
//	| uvarint len(I) | I = ints(the numbers of the slot, in order) |   per slot with numbers
//
// Log messages, paths and identifiers are mostly a few templates around
// numbers: the templates go to a dictionary and the numbers to an integer
// encoding, which both compress far better than the digits as text. A
// slot is a place for a number in a skeleton; StrSlots gives each slot an
// integer stream of its own, in order of skeleton, then place. The
// numbers of one slot share a range and often an order (a counter, ids of
// one kind), which one stream of all the numbers mixes away; but each
// stream costs a few bytes.
func appendSplit(dst []byte, vals []string) []byte {
	sp := splitStrings(vals)
	if sp == nil {
		return nil
	}
	head := binary.AppendUvarint(nil, uint64(len(sp.skels)))
	d := appendPlainOrFlate(nil, sp.skels)
	head = binary.AppendUvarint(head, uint64(len(d)))
	head = append(head, d...)
	x := AppendIndexes(nil, sp.idx, len(sp.skels))
	head = binary.AppendUvarint(head, uint64(len(x)))
	head = append(head, x...)

	slots := sp.slots()
	if len(slots) == 1 { // StrSlots would add only a length
		return AppendInts(append(append(dst, StrSplit), head...), sp.nums)
	}
	start := len(dst)
	dst = append(append(dst, StrSlots), head...)
	var buf []byte
	for _, nums := range slots {
		if len(nums) > 0 {
			buf = AppendInts(buf[:0], nums)
			dst = binary.AppendUvarint(dst, uint64(len(buf)))
			dst = append(dst, buf...)
		}
	}
	if len(sp.nums) >= slotsWin*len(slots) {
		return dst
	}
	alt := AppendInts(append([]byte{StrSplit}, head...), sp.nums)
	if len(alt) < len(dst)-start {
		return append(dst[:start], alt...)
	}
	return dst
}

// slotsWin is the average of numbers per slot from which StrSlots is
// taken without measuring StrSplit: the few bytes each slot's stream
// costs are then lost in what it saves.
const slotsWin = 64

// decodeSplit decodes n strings of a StrSplit stream, or of a StrSlots
// stream if slots is set (without its tag).
func decodeSplit(src []byte, n int, slots bool) (*Strings, error) {
	r := reader{b: src}
	k := int(min(r.uvarint(), MaxDict+1))
	d := r.bytes(r.uvarint())
	x := r.bytes(r.uvarint())
	if r.err != nil {
		return nil, r.err
	}
	if k == 0 || k > MaxDict {
		return nil, corruptf("%d skeletons", k)
	}
	skels, err := decodePlainOrFlate(d, k)
	if err != nil {
		return nil, err
	}
	if skels.Len() != k {
		return nil, corruptf("%d skeletons, want %d", skels.Len(), k)
	}
	idx, err := DecodeIndexes(x, k, n)
	if err != nil {
		return nil, err
	}
	marks := make([]int, k)
	for i := range k {
		for _, c := range skels.Bytes(i) {
			if c == numberMark {
				marks[i]++
			}
		}
	}
	uses := make([]int, k) // values with each skeleton
	total := 0
	for _, i := range idx {
		uses[i]++
		total += marks[i]
		if total > MaxValues {
			return nil, corruptf("more than %d numbers", MaxValues)
		}
	}
	// nums holds the numbers in the order the values take them.
	var nums []int64
	switch {
	case total == 0:
		if len(r.b) != 0 {
			return nil, corruptf("%d trailing bytes", len(r.b))
		}
	case !slots:
		if nums, err = DecodeInts(nil, r.b, total); err != nil {
			return nil, err
		}
	default:
		if nums, err = decodeSlots(&r, idx, marks, uses, total); err != nil {
			return nil, err
		}
	}
	out := &Strings{Offs: make([]int, 1, n+1)}
	j := 0
	for _, i := range idx {
		for _, c := range skels.Bytes(int(i)) {
			if c != numberMark {
				out.Data = append(out.Data, c)
				continue
			}
			if nums[j] < 0 {
				return nil, corruptf("negative number in a string")
			}
			out.Data = strconv.AppendInt(out.Data, nums[j], 10)
			j++
		}
		if len(out.Data) > MaxBytes {
			return nil, corruptf("more than %d bytes of strings", MaxBytes)
		}
		out.Offs = append(out.Offs, len(out.Data))
	}
	return out, nil
}

// decodeSlots decodes the slot streams of StrSlots from r, for values
// whose skeletons are idx, skeletons that have the given marks and uses
// (values), and returns the total numbers in the order the values take
// them.
func decodeSlots(r *reader, idx []uint32, marks, uses []int, total int) ([]int64, error) {
	// The slots one after the other; skeleton s's first slot starts at
	// first[s], and each of its slots holds uses[s] numbers.
	bySlot := make([]int64, 0, total)
	first := make([]int, len(marks))
	for s := range marks {
		first[s] = len(bySlot)
		if uses[s] == 0 {
			continue
		}
		for range marks[s] {
			b := r.bytes(r.uvarint())
			if r.err != nil {
				return nil, r.err
			}
			var err error
			if bySlot, err = DecodeInts(bySlot, b, uses[s]); err != nil {
				return nil, err
			}
		}
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	nums := make([]int64, 0, total)
	seen := make([]int, len(marks)) // values of each skeleton so far
	for _, s := range idx {
		for m := range marks[s] {
			nums = append(nums, bySlot[first[s]+m*uses[s]+seen[s]])
		}
		seen[s]++
	}
	return nums, nil
}
