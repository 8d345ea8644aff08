package colenc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
)

// Errors of the decoders. Every decoding failure wraps ErrCorrupt.
var (
	ErrCorrupt  = errors.New("colenc: corrupt encoding")
	ErrEncoding = errors.New("colenc: unknown encoding")
)

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// Width is the number of bits needed for values up to max.
func Width(max uint64) int { return bits.Len64(max) }

// packedLen is the number of bytes of n bit-packed values of width w.
func packedLen(n, w int) int { return (n*w + 7) / 8 }

// appendPacked appends vals packed with width w, least significant bit
// first, as Parquet packs: the first value takes the low bits of the first
// byte. Values must fit in w bits.
func appendPacked[T uint32 | uint64](dst []byte, vals []T, w int) []byte {
	if w == 0 {
		return dst
	}
	dst = slices.Grow(dst, packedLen(len(vals), w)+8)
	var acc uint64 // pending bits, low first
	var n int      // number of pending bits
	for _, x := range vals {
		v := uint64(x)
		acc |= v << n
		if n+w >= 64 {
			dst = binary.LittleEndian.AppendUint64(dst, acc)
			spill := n + w - 64
			if spill > 0 {
				acc = v >> (w - spill)
			} else {
				acc = 0
			}
			n = spill
		} else {
			n += w
		}
	}
	for ; n > 0; n -= 8 {
		dst = append(dst, byte(acc))
		acc >>= 8
	}
	return dst
}

// unpack decodes len(dst) values of width w from src, which must hold
// exactly packedLen(len(dst), w) bytes. Into int64s the bits are
// reinterpreted, sparing the integer decoders a second slice.
func unpack[T uint64 | int64](dst []T, src []byte, w int) error {
	if len(src) != packedLen(len(dst), w) {
		return corruptf("%d packed bytes for %d values of %d bits", len(src), len(dst), w)
	}
	if w == 0 {
		clear(dst)
		return nil
	}
	mask := uint64(1)<<w - 1
	if w == 64 {
		mask = ^uint64(0)
	}
	// Fast path: whole 8-byte loads while they stay inside src.
	i := 0
	if w <= 56 {
		for ; i < len(dst); i++ {
			bit := i * w
			at := bit >> 3
			if at+8 > len(src) {
				break
			}
			dst[i] = T(binary.LittleEndian.Uint64(src[at:]) >> (bit & 7) & mask)
		}
	}
	for ; i < len(dst); i++ {
		bit := i * w
		var v uint64
		for k := 0; k < w; {
			at, off := (bit+k)>>3, (bit+k)&7
			take := min(8-off, w-k)
			v |= uint64(src[at]>>off&(1<<take-1)) << k
			k += take
		}
		dst[i] = T(v)
	}
	return nil
}

// reader reads the varints and bytes of an encoded stream.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = corruptf("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	u := r.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.err = corruptf("unexpected end")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// bytes returns the next n bytes; n is checked against what is there
// before anything is sliced.
func (r *reader) bytes(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = corruptf("length %d beyond the end", n)
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

func (r *reader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = corruptf("%d trailing bytes", len(r.b))
	}
	return r.err
}

func appendVarint(dst []byte, v int64) []byte { return binary.AppendVarint(dst, v) }
