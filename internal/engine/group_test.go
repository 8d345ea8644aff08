package engine

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestWideGroups checks the grouping of keys too wide for the per-block
// tables against the naive evaluator: integers and buckets spanning more
// than maxDimIDs get dense ids, and composite ids beyond maxTableID are
// numbered densely, after the last dimension or, with five dimensions of
// a thousand values each, between dimensions too.
func TestWideGroups(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var lines []line
	for i := range 1500 {
		tm := int64(1767225600000000000) + rng.Int64N(3*86400e9)
		lines = append(lines, line{time: tm, text: fmt.Sprintf(
			`{"time_ns":%d,"a":%d,"b":%d,"c":"c%d","d":%d,"e":%d}`,
			tm, rng.Int64N(1e12)-5e11, rng.IntN(1e6), rng.IntN(900), rng.IntN(40), i%7)})
	}
	diffEach(t, lines, []string{
		"stats count by a",
		"stats count, p50(b) by b every 1s",
		"stats count by a, b, c, d every 1s",
		"stats count, distinct(c), max(a) by e, d every 1h",
		"where d < 20 or c = \"c7\"\nstats count by c, d",
	})
}

// TestDistinctAndPercentilesOfOneGroup checks, against the naive
// evaluator, distinct over dictionary-coded strings without by (a bitmap
// of the codes the rows use, for every row or a selection), and
// percentiles whose values are counted in histograms: of integers only,
// of integers with a few outliers, and of integers mixed with fractions.
func TestDistinctAndPercentilesOfOneGroup(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	// The first event, the first code of its block's dictionary, is the
	// only one with d 99: a selection without it must not count it.
	first := int64(1767225600000000000) - 1
	lines := []line{{time: first, text: fmt.Sprintf(`{"time_ns":%d,"d":99,"c":"first"}`, first)}}
	for i := range 3000 {
		tm := int64(1767225600000000000) + rng.Int64N(2*86400e9)
		text := fmt.Sprintf(`{"time_ns":%d,"d":%d,"e":%d`, tm, rng.IntN(40), i%3)
		if rng.IntN(3) > 0 {
			text += fmt.Sprintf(`,"c":"c%d"`, rng.IntN(500))
		}
		switch x := rng.IntN(200); {
		case rng.IntN(50) == 0:
			text += fmt.Sprintf(`,"g":%d`, x*1_000_000)
		case rng.IntN(20) == 0:
			text += fmt.Sprintf(`,"g":%d.5`, x)
		default:
			text += fmt.Sprintf(`,"g":%d`, x)
		}
		lines = append(lines, line{time: tm, text: text + "}"})
	}
	diffEach(t, lines, []string{
		"stats distinct(c)",
		"where d < 50\nstats distinct(c), count",
		"where c != \"c7\"\nstats distinct(c)",
		"stats p50(d), p99(d), p999(d) by e",
		"stats p50(g), p90(g), p99(g) by e",
		"where e = 1\nstats p99(g), p50(d) every 1h",
	})
}

// TestNthInt compares quickselect with sorting, on data with and without
// many equal values and on already ordered data.
func TestNthInt(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 2, 3, 16, 17, 100, 1000, 50_000} {
		for _, shape := range []string{"random", "few", "sorted", "reversed", "equal"} {
			xs := make([]int64, n)
			for i := range xs {
				switch shape {
				case "random":
					xs[i] = rng.Int64() - 1<<62
				case "few":
					xs[i] = rng.Int64N(3)
				case "sorted":
					xs[i] = int64(i)
				case "reversed":
					xs[i] = int64(n - i)
				}
			}
			sorted := slices.Sorted(slices.Values(xs))
			for _, k := range []int{0, n / 2, n * 99 / 100, n - 1} {
				if got := nthInt(slices.Clone(xs), k); got != sorted[k] {
					t.Errorf("n %d %s: element %d is %d, want %d", n, shape, k, got, sorted[k])
				}
			}
		}
	}
}

// diffEach runs each query over lines in every layout, through the
// engine and the naive evaluator, and reports where they differ.
func diffEach(t *testing.T, lines []line, queries []string) {
	t.Helper()
	recs := naiveRecords(t, lines)
	srcs := sources(t, lines)
	for _, q := range queries {
		for _, l := range layouts {
			if msg := diffOne(q, l, srcs[l], recs, nil, 0); msg != "" {
				t.Errorf("%s, %q:\n%s", l, q, msg)
			}
		}
	}
}
