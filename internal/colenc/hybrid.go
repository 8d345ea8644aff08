package colenc

import "encoding/binary"

// AppendHybrid appends vals in Parquet's run-length / bit-packing hybrid
// encoding with bit width w (0 ≤ w ≤ 32), without Parquet's 4-byte length
// prefix:
//
//	stream     := run*
//	run        := rle-run | packed-run
//	rle-run    := uvarint(count << 1)        value: ceil(w/8) bytes, little endian
//	packed-run := uvarint(groups << 1 | 1)   groups × 8 values, w bits each, LSB first
//
// A run of 8 or more equal values becomes an rle-run; other values are
// bit-packed in groups of 8, the last group padded with zeros.
func AppendHybrid(dst []byte, vals []uint32, w int) []byte {
	// vals[lo:i] are waiting to be bit-packed: values before a run of 8
	// or more equal ones, which becomes an rle-run.
	lo := 0
	for i := 0; i < len(vals); {
		j := i + 1
		for j < len(vals) && vals[j] == vals[i] {
			j++
		}
		run := j - i
		// Complete a partial group from the run before it can become an
		// rle-run: bit-packed runs hold whole groups only.
		if k := (i - lo) % 8; k != 0 && run >= 8 {
			i += 8 - k
			run -= 8 - k
		}
		if run >= 8 {
			dst = appendPackedRun(dst, vals[lo:i], w)
			dst = binary.AppendUvarint(dst, uint64(run)<<1)
			v := vals[i]
			for b := 0; b < (w+7)/8; b++ {
				dst = append(dst, byte(v>>(8*b)))
			}
			lo = j
		}
		i = j
	}
	return appendPackedRun(dst, vals[lo:], w)
}

// appendPackedRun appends vals as one packed-run, the last group padded
// with zeros; nothing if vals is empty.
func appendPackedRun(dst []byte, vals []uint32, w int) []byte {
	if len(vals) == 0 {
		return dst
	}
	groups := (len(vals) + 7) / 8
	dst = binary.AppendUvarint(dst, uint64(groups)<<1|1)
	if w == 0 {
		return dst
	}
	// The last group is padded with zero values: zero bits after the
	// packed values, up to groups·w bytes.
	end := len(dst) + groups*w
	dst = appendPacked(dst, vals, w)
	for len(dst) < end {
		dst = append(dst, 0)
	}
	return dst
}

// DecodeHybrid decodes exactly n values of width w from src, appending
// them to dst. Padding of the last bit-packed group is allowed; any other
// byte left over is an error, as is a value wider than w.
func DecodeHybrid(dst []uint32, src []byte, w, n int) ([]uint32, error) {
	if w < 0 || w > 32 || n < 0 || n > MaxValues {
		return dst, corruptf("bad width %d or count %d", w, n)
	}
	r := reader{b: src}
	var wide []uint64
	// n is at most MaxValues: the one allocation a few bytes can claim.
	base := len(dst)
	dst = grow(dst, n)
	out := dst[base:]
	for got := 0; got < n; {
		h := r.uvarint()
		if r.err != nil {
			return dst[:base], r.err
		}
		if h&1 == 0 {
			count := h >> 1
			if count == 0 || count > uint64(n-got) {
				return dst[:base], corruptf("rle run of %d values with %d left", count, n-got)
			}
			var v uint32
			vb := r.bytes(uint64((w + 7) / 8))
			if r.err != nil {
				return dst[:base], r.err
			}
			for b, c := range vb {
				v |= uint32(c) << (8 * b)
			}
			if w < 32 && v>>w != 0 {
				return dst[:base], corruptf("rle value %d wider than %d bits", v, w)
			}
			fill := out[got : got+int(count)]
			for i := range fill {
				fill[i] = v
			}
			got += int(count)
			continue
		}
		groups := h >> 1
		if groups == 0 || groups > uint64(n-got+7)/8 {
			return dst[:base], corruptf("packed run of %d groups with %d values left", groups, n-got)
		}
		count := int(groups) * 8
		body := r.bytes(uint64(packedLen(count, w)))
		if r.err != nil {
			return dst[:base], r.err
		}
		if cap(wide) < count {
			wide = make([]uint64, count)
		}
		wide = wide[:count]
		if err := unpack(wide, body, w); err != nil {
			return dst[:base], err
		}
		keep := min(count, n-got)
		part := out[got : got+keep]
		for i := range part {
			part[i] = uint32(wide[i])
		}
		got += keep
	}
	if err := r.done(); err != nil {
		return dst[:base], err
	}
	return dst, nil
}
