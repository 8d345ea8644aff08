package colenc

// AppendBools appends vals as BoolRLE: the hybrid encoding with width 1.
func AppendBools(dst []byte, vals []bool) []byte {
	idx := make([]uint32, len(vals))
	for i, v := range vals {
		if v {
			idx[i] = 1
		}
	}
	return AppendHybrid(append(dst, BoolRLE), idx, 1)
}

// DecodeBools decodes exactly n booleans from src and appends them to dst.
func DecodeBools(dst []bool, src []byte, n int) ([]bool, error) {
	if n <= 0 || n > MaxValues {
		return dst, corruptf("bad count %d", n)
	}
	if len(src) == 0 || src[0] != BoolRLE {
		return dst, ErrEncoding
	}
	idx, err := DecodeHybrid(make([]uint32, 0, min(n, 4096)), src[1:], 1, n)
	if err != nil {
		return dst, err
	}
	for _, v := range idx {
		dst = append(dst, v == 1)
	}
	return dst, nil
}

// AppendLevels appends repetition or definition levels, all at most max,
// in the hybrid encoding of width Width(max). Nothing is written when max
// is 0: every level is then 0.
func AppendLevels(dst []byte, levels []uint8, max int) []byte {
	if max == 0 {
		return dst
	}
	idx := make([]uint32, len(levels))
	for i, l := range levels {
		idx[i] = uint32(l)
	}
	return AppendHybrid(dst, idx, Width(uint64(max)))
}

// DecodeLevels decodes exactly n levels, each at most max, from src.
func DecodeLevels(src []byte, n, max int) ([]uint8, error) {
	if n < 0 || n > MaxValues || max < 0 || max > 255 {
		return nil, corruptf("bad count %d or maximum %d", n, max)
	}
	if max == 0 {
		if len(src) != 0 {
			return nil, corruptf("levels where none can be")
		}
		return make([]uint8, n), nil
	}
	idx, err := DecodeHybrid(make([]uint32, 0, min(n, 4096)), src, Width(uint64(max)), n)
	if err != nil {
		return nil, err
	}
	out := make([]uint8, len(idx))
	for i, v := range idx {
		if int(v) > max {
			return nil, corruptf("level %d above %d", v, max)
		}
		out[i] = uint8(v)
	}
	return out, nil
}
