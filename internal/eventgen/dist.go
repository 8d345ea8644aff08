package eventgen

import (
	"math/bits"
	"math/rand/v2"
)

// Every distribution here is built from the PCG's Uint64 and integer
// arithmetic only. The math package may return different last bits on
// different CPUs (math.Exp uses FMA where the CPU has it) and math/rand/v2
// does not promise its derived streams (Float64, NormFloat64, Zipf) across Go
// versions, so either would break "same seed, same bytes" for benchmarks
// recorded on one machine and rerun on another.

// source wraps the PCG so the helpers below are the only way bits are drawn.
type source struct {
	pcg rand.PCG
}

// intn returns a value in [0, n) by multiply-shift. Its bias is below
// n/2^64, far beneath anything a test or benchmark could notice, and unlike
// rejection sampling it draws exactly one word, which keeps streams aligned.
func (s *source) intn(n uint64) uint64 {
	hi, _ := bits.Mul64(s.pcg.Uint64(), n)
	return hi
}

// chance reports true with probability permille/1000.
func (s *source) chance(permille uint64) bool {
	return s.intn(1000) < permille
}

// weighted picks indexes in proportion to integer weights.
type weighted struct {
	cum   []uint32 // cum[i] is the sum of weights[0..i]
	total uint64
	// guide[b] is the answer for the smallest draw whose top guideBits
	// bits are b, so a pick searches only between guide[b] and
	// guide[b+1]: a few steps even over the 100k-user table, where a full
	// binary search was most of the generator's time. It changes speed,
	// never results.
	guide     []uint32
	guideBits uint
}

func newWeighted(weights []uint32) weighted {
	w := weighted{cum: make([]uint32, len(weights))}
	var sum uint64
	for i, x := range weights {
		sum += uint64(x)
		if sum > 1<<32-1 {
			panic("eventgen: internal error: weights overflow")
		}
		w.cum[i] = uint32(sum)
	}
	w.total = sum
	w.guideBits = 2
	for 1<<w.guideBits < 4*len(weights) && w.guideBits < 14 {
		w.guideBits++
	}
	w.guide = make([]uint32, 1<<w.guideBits+1)
	for b := range w.guide {
		// The smallest draw in bucket b; the last entry bounds the last
		// bucket with the largest possible draw.
		u := uint64(b) * w.total >> w.guideBits
		if b == len(w.guide)-1 {
			u = w.total - 1
		}
		w.guide[b] = uint32(w.search(u, 0, len(w.cum)))
	}
	return w
}

// search returns the first i in [lo, hi) with cum[i] > u.
func (w *weighted) search(u uint64, lo, hi int) int {
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if uint64(w.cum[m]) <= u {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

func (w *weighted) pick(s *source) int { return w.index(s.pcg.Uint64()) }

// index maps a uniform 64-bit draw to an index.
func (w *weighted) index(x uint64) int {
	u, _ := bits.Mul64(x, w.total) // as intn does
	b := x >> (64 - w.guideBits)
	return w.search(u, int(w.guide[b]), int(w.guide[b+1])+1)
}

// newZipf returns ranks 0..n-1 with weight C/(rank+1+q), a Zipf–Mandelbrot
// law with exponent 1. The integer weights are exact, so the table is the
// same everywhere; q flattens the head so the top user is a few percent of
// traffic rather than a twelfth of it.
func newZipf(n int, q uint32) weighted {
	const c = 1 << 27 // keeps the total for 100k ranks well inside uint32
	ws := make([]uint32, n)
	for i := range ws {
		ws[i] = c / (uint32(i) + 1 + q)
	}
	return newWeighted(ws)
}

// pow2Q16[i] is round(65536 * 2^(i/64)), written out rather than computed
// so no floating point is involved (TestPow2Table checks it).
var pow2Q16 = [64]uint64{
	65536, 66250, 66971, 67700, 68438, 69183, 69936, 70698,
	71468, 72246, 73032, 73828, 74632, 75444, 76266, 77096,
	77936, 78785, 79642, 80510, 81386, 82273, 83169, 84074,
	84990, 85915, 86851, 87796, 88752, 89719, 90696, 91684,
	92682, 93691, 94711, 95743, 96785, 97839, 98905, 99982,
	101070, 102171, 103283, 104408, 105545, 106694, 107856, 109031,
	110218, 111418, 112631, 113858, 115098, 116351, 117618, 118899,
	120194, 121502, 122825, 124163, 125515, 126882, 128263, 129660,
}

// octaveQ16 converts one unit of the byte sum below into 1/64ths of an
// octave of a log-normal with sigma 1, times 2^16:
// 64 / (sd * ln 2) * 2^16 with sd = sqrt(8 * (256^2-1) / 12) ≈ 209.02.
const octaveQ16 = 28950

// lognormal returns a log-normal value with the given median and shape
// sigma/100 (sigma in natural-log units, so 100 means a p99 about ten times
// the median). The normal deviate is an Irwin–Hall sum of the eight bytes of
// one draw: close to normal out to about 4.9 sigma, which covers p999.
func (s *source) lognormal(median, sigmaPct uint64) uint64 {
	x := s.pcg.Uint64()
	var sum int64
	for range 8 {
		sum += int64(x & 0xff)
		x >>= 8
	}
	sum -= 1020 // the mean of eight bytes
	e := sum * octaveQ16 * int64(sigmaPct) / 100 >> 16
	v := median * pow2Q16[e&63]
	if oct := e >> 6; oct >= 0 {
		v <<= uint(oct)
	} else {
		v >>= uint(-oct)
	}
	return v >> 16
}
