package engine

import (
	"math"
	"math/bits"
)

// exactSum adds numbers without rounding, so that a sum does not depend
// on the order of its terms: integers in 128 bits, other numbers as a
// list of float64 partials whose exact sum is the running total (the
// method of Shewchuk's "Adaptive Precision Floating-Point Arithmetic",
// 1997, as Python's math.fsum uses it). The result is rounded once.
// Rows of a query may be visited in any order, on several cores; the
// answer is the same.
type exactSum struct {
	hi        int64  // the integers' sum is hi·2^64 + lo
	lo        uint64 //
	parts     []float64
	nonInt    bool // a term was not an integer
	nonFinite bool // a term was ±Inf (a JSON number beyond float64)
}

func (s *exactSum) addInt(x int64) {
	lo, carry := bits.Add64(s.lo, uint64(x), 0)
	s.lo = lo
	s.hi += x>>63 + int64(carry) // x>>63 sign-extends x to 128 bits
}

func (s *exactSum) addFloat(x float64) {
	s.nonInt = true
	if math.IsInf(x, 0) || math.IsNaN(x) {
		s.nonFinite = true
		return
	}
	s.parts = addPartial(s.parts, x)
}

// addPartial adds x to the partials, keeping them non-overlapping and in
// increasing magnitude, their sum exact.
func addPartial(parts []float64, x float64) []float64 {
	i := 0
	for _, y := range parts {
		if math.Abs(x) < math.Abs(y) {
			x, y = y, x
		}
		hi := x + y
		lo := y - (hi - x)
		if lo != 0 {
			parts[i] = lo
			i++
		}
		x = hi
	}
	return append(parts[:i], x)
}

// merge adds the terms of o.
func (s *exactSum) merge(o *exactSum) {
	lo, carry := bits.Add64(s.lo, o.lo, 0)
	s.lo = lo
	s.hi += o.hi + int64(carry)
	for _, p := range o.parts {
		s.parts = addPartial(s.parts, p)
	}
	s.nonInt = s.nonInt || o.nonInt
	s.nonFinite = s.nonFinite || o.nonFinite
}

// int returns the sum if every term was an integer and it fits an int64.
func (s *exactSum) int() (int64, bool) {
	return int64(s.lo), !s.nonInt && s.hi == int64(s.lo)>>63
}

// float returns the sum rounded to the nearest float64, ±Inf beyond its
// range, NaN if a term was not finite.
func (s *exactSum) float() float64 {
	if s.nonFinite {
		return math.NaN()
	}
	// The integers as four exact float64s: each holds at most 32
	// significant bits.
	parts := append([]float64(nil), s.parts...)
	for _, x := range [...]float64{
		math.Ldexp(float64(s.hi>>32), 96),
		math.Ldexp(float64(uint32(s.hi)), 64),
		math.Ldexp(float64(s.lo>>32), 32),
		float64(uint32(s.lo)),
	} {
		if x != 0 {
			parts = addPartial(parts, x)
		}
	}
	// Round the partials' exact sum once (math.fsum's final step): add
	// from the largest down until a rounding error appears, then correct
	// a tie that the remaining partials break.
	n := len(parts)
	if n == 0 {
		return 0
	}
	n--
	hi, lo := parts[n], 0.0
	for n > 0 {
		x := hi
		n--
		y := parts[n]
		hi = x + y
		lo = y - (hi - x)
		if lo != 0 {
			break
		}
	}
	if n > 0 && (lo < 0 && parts[n-1] < 0 || lo > 0 && parts[n-1] > 0) {
		y := lo * 2
		x := hi + y
		if y == x-hi {
			hi = x
		}
	}
	return hi + 0 // -0 (a sum of -0s) is 0, as in exact arithmetic
}
