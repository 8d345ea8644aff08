package colenc

import (
	"encoding/binary"
	"strconv"
)

// StrSplit is the encoding tag of strings split into a skeleton and
// numbers. Part of the format; never change.
const StrSplit byte = 0x14

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

// appendSplit appends vals as StrSplit, or returns nil when splitting
// does not apply (no numbers, a value holding numberMark, or too many
// distinct skeletons to pay):
//
//	| 14 | uvarint k | uvarint len(D) | D = plain or flate of the k skeletons |
//	| uvarint len(X) | X = indexes(skeleton of each value) | ints(the numbers, in order) or nothing |
//
// Log messages, paths and identifiers are mostly a few templates around
// numbers: the templates go to a dictionary and the numbers to an integer
// encoding, which both compress far better than the digits as text.
func appendSplit(dst []byte, vals []string) []byte {
	index := make(map[string]uint32)
	var skels []string
	idx := make([]uint32, len(vals))
	var nums []int64
	var buf []byte
	limit := min(len(vals)/4+1, MaxDict)
	for i, v := range vals {
		var ok bool
		buf, nums, ok = appendSkeleton(buf[:0], nums, v)
		if !ok {
			return nil
		}
		k, seen := index[string(buf)]
		if !seen {
			if len(skels) >= limit {
				return nil
			}
			k = uint32(len(skels))
			s := string(buf)
			index[s] = k
			skels = append(skels, s)
		}
		idx[i] = k
		if i == 255 && len(skels) > 64 {
			return nil // a sample says the skeletons are too varied to pay
		}
	}
	if len(nums) == 0 {
		return nil
	}
	dst = append(dst, StrSplit)
	dst = binary.AppendUvarint(dst, uint64(len(skels)))
	d := appendPlainOrFlate(nil, skels)
	dst = binary.AppendUvarint(dst, uint64(len(d)))
	dst = append(dst, d...)
	x := AppendIndexes(nil, idx, len(skels))
	dst = binary.AppendUvarint(dst, uint64(len(x)))
	dst = append(dst, x...)
	return AppendInts(dst, nums)
}

// decodeSplit decodes n strings of a StrSplit stream (without its tag).
func decodeSplit(src []byte, n int) (*Strings, error) {
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
	total := 0
	for _, i := range idx {
		total += marks[i]
		if total > MaxValues {
			return nil, corruptf("more than %d numbers", MaxValues)
		}
	}
	var nums []int64
	if total > 0 {
		if nums, err = DecodeInts(nil, r.b, total); err != nil {
			return nil, err
		}
	} else if len(r.b) != 0 {
		return nil, corruptf("%d trailing bytes", len(r.b))
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
