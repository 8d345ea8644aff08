package engine

import (
	"math"
	"slices"
)

// intDist holds the integers of a percentile. While they are few they are
// listed. Once there are enough of them in a narrow enough range, most
// are counted per value instead (a histogram over [base, base+len(counts))):
// durations, sizes and status codes repeat a few thousand values millions
// of times, and counting them costs an increment, not 8 bytes and a sort.
// Values outside the histogram's range (or beyond a count's limit) stay
// in the list.
type intDist struct {
	list   intList
	base   int64
	counts []uint32
	n      int // all values, listed and counted
}

// histFrom is how many values are listed before a histogram is first
// tried; it is tried again each time the list doubles.
const histFrom = 64

// histLen is the longest histogram a distribution of n values may have:
// its 4-byte counts take no more memory than listing the values would.
func histLen(n int) uint64 { return 2 * uint64(n) }

// add adds x and returns the memory it took.
func (d *intDist) add(x int64) int64 {
	if d.count(x) {
		return 0
	}
	return d.addSlow(x)
}

// count counts x if the histogram holds it and its count is below the
// limit, and reports whether it did: add's fast path, small enough to be
// inlined.
func (d *intDist) count(x int64) bool {
	// x-base wraps around below base, and is then out of range.
	i := uint64(x - d.base)
	if i >= uint64(len(d.counts)) || d.counts[i] == math.MaxUint32 {
		return false
	}
	d.counts[i]++
	d.n++
	return true
}

func (d *intDist) addSlow(x int64) int64 {
	d.n++
	if d.counts != nil {
		i := uint64(x - d.base)
		if i >= uint64(len(d.counts)) {
			if grew, ok := d.grow(x); ok {
				d.counts[x-d.base]++
				return grew
			}
		}
		d.list.add(x)
		return 8
	}
	d.list.add(x)
	if n := d.list.n; n >= histFrom && n&(n-1) == 0 {
		return 8 + d.tryHist()
	}
	return 8
}

// tryHist moves the listed values to a histogram of histLen counts from
// the smallest of them, if it would hold at least histShare of them;
// those beyond it stay listed, so that a long tail of large values does
// not keep the rest from being counted. It returns the memory that took
// (less than zero: it saved).
func (d *intDist) tryHist() int64 {
	lo := int64(math.MaxInt64)
	d.eachListed(func(x int64) { lo = min(lo, x) })
	size := histLen(d.n)
	if lo > math.MaxInt64-int64(size) {
		return 0
	}
	in := 0
	d.eachListed(func(x int64) { in += int(b2i(uint64(x-lo) < size)) })
	if float64(in) < histShare*float64(d.list.n) {
		return 0
	}
	counts := make([]uint32, size)
	var rest intList
	d.eachListed(func(x int64) {
		if i := uint64(x - lo); i < size {
			counts[i]++
		} else {
			rest.add(x)
		}
	})
	moved := d.list.n - rest.n
	d.base, d.counts, d.list = lo, counts, rest
	return 4*int64(size) - 8*int64(moved)
}

// histShare is the least share of the listed values a first histogram
// must hold.
const histShare = 0.875

// grow widens the histogram to hold x, at least doubling it, if its
// length stays within histLen; it reports whether it did and returns the
// memory that took.
func (d *intDist) grow(x int64) (int64, bool) {
	old := uint64(len(d.counts))
	var span uint64 // values from x to the far end of the range
	if x < d.base {
		span = uint64(d.base) - uint64(x) + old
	} else {
		span = uint64(x) - uint64(d.base) + 1
	}
	limit := histLen(d.n)
	if span > limit {
		return 0, false
	}
	size := min(max(2*old, span), limit)
	base := d.base
	if x < d.base {
		end := d.base + int64(old) // base+old was checked when made
		if end < math.MinInt64+int64(size) {
			return 0, false
		}
		base = end - int64(size)
	} else if d.base > math.MaxInt64-int64(size) {
		return 0, false
	}
	counts := make([]uint32, size)
	copy(counts[d.base-base:], d.counts)
	d.base, d.counts = base, counts
	return 4 * int64(size-old), true
}

// merge moves the values of o to d and returns the memory d took.
func (d *intDist) merge(o *intDist) int64 {
	if len(o.counts) > len(d.counts) {
		*d, *o = *o, *d
	}
	var grew int64
	if d.counts == nil {
		d.list.merge(&o.list)
		d.n += o.n
		*o = intDist{}
		return 0
	}
	for i, c := range o.counts {
		x := o.base + int64(i)
		for ; c > 0; c-- {
			if j := uint64(x - d.base); j < uint64(len(d.counts)) && d.counts[j] <= math.MaxUint32-c {
				d.counts[j] += c
				d.n += int(c)
				break
			}
			grew += d.add(x)
		}
	}
	o.eachListed(func(x int64) { grew += d.add(x) })
	*o = intDist{}
	return grew
}

// eachListed calls fn with each listed value.
func (d *intDist) eachListed(fn func(x int64)) {
	for _, c := range d.list.chunks {
		for _, x := range c {
			fn(x)
		}
	}
}

// each calls fn with every value, a counted one as often as it was
// counted.
func (d *intDist) each(fn func(x int64)) {
	for i, c := range d.counts {
		for range c {
			fn(d.base + int64(i))
		}
	}
	d.eachListed(fn)
}

// nth returns the value of rank k (from 0) in order, reordering the list.
func (d *intDist) nth(k int) int64 {
	xs := d.list.flat()
	if d.counts == nil {
		return nthInt(xs, k)
	}
	// The histogram in order, merged with the sorted list: the list
	// holds the few values out of its range.
	slices.Sort(xs)
	j := 0
	for i, c := range d.counts {
		v := d.base + int64(i)
		for ; j < len(xs) && xs[j] < v; j++ {
			if k == 0 {
				return xs[j]
			}
			k--
		}
		if uint64(k) < uint64(c) {
			return v
		}
		k -= int(c)
	}
	return xs[j+k]
}
