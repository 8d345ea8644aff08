package engine

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestIntDistRanks checks every rank of distributions that stay listed,
// turn into histograms, grow them down and up, spill out of them, and
// merge, against sorting the same values.
func TestIntDistRanks(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := map[string]func(i int) int64{
		"narrow":   func(int) int64 { return r.Int64N(300) },
		"lognorm":  func(int) int64 { return int64(math.Exp(r.NormFloat64()*1.2 + 3)) },
		"wide":     func(int) int64 { return r.Int64() - math.MaxInt64/2 },
		"rising":   func(i int) int64 { return int64(i) },
		"falling":  func(i int) int64 { return -int64(i) },
		"tails":    func(i int) int64 { return []int64{math.MinInt64, 5, math.MaxInt64, 7}[i%4] + r.Int64N(2)*int64(i%4%2) },
		"outliers": func(i int) int64 { return r.Int64N(50) + int64(i%97/96)*1_000_000_000 },
		"jumps":    func(i int) int64 { return r.Int64N(10) + int64(i%1000/999)*int64(i)*[]int64{-3, 3}[i/1000%2] },
		"top":      func(int) int64 { return math.MaxInt64 - r.Int64N(10) },
		"bottom":   func(int) int64 { return math.MinInt64 + r.Int64N(10) },
	}
	for name, gen := range cases {
		for _, n := range []int{1, 1000, 1024, 5000, 40_000} {
			var a, b intDist
			var all []int64
			for i := range n {
				x := gen(i)
				all = append(all, x)
				if i%3 == 0 {
					b.add(x)
				} else {
					a.add(x)
				}
			}
			a.merge(&b)
			if a.n != n || b.n != 0 {
				t.Fatalf("%s/%d: merged has %d values, other %d", name, n, a.n, b.n)
			}
			slices.Sort(all)
			for _, k := range []int{0, n / 2, n * 99 / 100, n - 1} {
				if got := a.nth(k); got != all[k] {
					t.Errorf("%s/%d: rank %d is %d, want %d (histogram of %d from %d)", name, n, k, got, all[k], len(a.counts), a.base)
				}
			}
		}
	}
}

// TestIntDistCountsNarrowValues checks that a large narrow distribution is
// counted, not listed: what makes percentiles over millions of durations
// cheap.
func TestIntDistCountsNarrowValues(t *testing.T) {
	var d intDist
	var mem int64
	for i := range 1_000_000 {
		mem += d.add(int64(i % 5000))
	}
	if d.list.n != 0 || len(d.counts) == 0 {
		t.Fatalf("%d values listed, histogram of %d", d.list.n, len(d.counts))
	}
	if mem > 4*int64(histLen(d.n)) || mem <= 0 {
		t.Errorf("charged %d bytes for a histogram of %d counts", mem, len(d.counts))
	}
	if got := d.nth(990_000); got != 4950 {
		t.Errorf("p99 is %d, want 4950", got)
	}
}

// TestIntDistSaturatedCount checks that values beyond a count's limit
// are listed, not lost.
func TestIntDistSaturatedCount(t *testing.T) {
	var d intDist
	for range histFrom {
		d.add(7)
	}
	d.counts[0] = math.MaxUint32 - 1
	d.n = math.MaxUint32 - 1
	d.add(7)
	d.add(7)
	d.add(6)
	if d.list.n != 1 {
		t.Fatalf("%d values listed, want 1: the 7 past the limit", d.list.n)
	}
	if got := d.nth(0); got != 6 {
		t.Errorf("rank 0 is %d, want 6", got)
	}
	if got := d.nth(d.n - 1); got != 7 {
		t.Errorf("last rank is %d, want 7", got)
	}
}

// TestIntDistCountsAroundATail checks that a few values far above the
// rest leave the rest counted, and only themselves listed.
func TestIntDistCountsAroundATail(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var d intDist
	var all []int64
	for i := range 200_000 {
		x := r.Int64N(1000)
		if i%20 == 0 {
			x = r.Int64N(1e12)
		}
		d.add(x)
		all = append(all, x)
	}
	if len(d.counts) == 0 || d.list.n > len(all)/20+histFrom {
		t.Fatalf("%d of %d values listed, histogram of %d", d.list.n, len(all), len(d.counts))
	}
	slices.Sort(all)
	for _, k := range []int{0, 100_000, 189_999, 190_000, 199_999} {
		if got := d.nth(k); got != all[k] {
			t.Errorf("rank %d is %d, want %d", k, got, all[k])
		}
	}
}

// TestPercentileIntegersThenFractions checks a percentile whose integers
// were counted in a histogram, and listed beyond it, when a fraction
// arrives: every value moves to the general list, counted ones as often
// as they were counted, and the rank is that of all of them.
func TestPercentileIntegersThenFractions(t *testing.T) {
	spec := aggSpec{fn: "p50", field: 0, permille: 500}
	var s, o aggState
	var all []float64
	for i := range 10_000 {
		x := int64(i % 100)
		if i%1000 == 998 {
			x = 1 << 40 // beyond the histogram
		}
		st := &s
		if i%2 == 1 {
			st = &o
		}
		st.add(&spec, []Val{intVal(x)})
		all = append(all, float64(x))
	}
	if len(s.ints.counts) == 0 || s.ints.list.n == 0 {
		t.Fatalf("want values counted and listed before the fraction: %d counts, %d listed", len(s.ints.counts), s.ints.list.n)
	}
	s.add(&spec, []Val{floatVal(0.5)})
	all = append(all, 0.5)
	s.merge(&spec, &o)
	slices.Sort(all)
	want := all[(len(all)+1)/2-1]
	if got := s.result(&spec); got.F != want {
		t.Errorf("p50 is %+v, want %v", got, want)
	}
	if len(s.vals) != len(all) {
		t.Errorf("%d values kept, want %d", len(s.vals), len(all))
	}
}
