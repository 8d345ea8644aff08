package engine

import (
	"fmt"
	"testing"
)

// TestCountFromFooters checks that plain counts, which whole blocks answer
// from their row counts, agree with counting row by row.
func TestCountFromFooters(t *testing.T) {
	var lines []string
	var times []int64
	for i := range 10 {
		lines = append(lines, fmt.Sprintf(`{"time_ns":%d,"m":"a"}`, i*10))
		times = append(times, int64(i)*10)
	}
	src := testSource(t, lines, times) // times 0..40 in a segment, 50..90 in memory
	checkQueries(t, src, []queryCase{
		{"stats count", "count\n10\n"},
		{"stats count, count as n", "count | n\n10 | 10\n"},
		{"since 0\nuntil 41\nstats count", "count\n5\n"},        // the whole block
		{"since 10\nstats count", "count\n9\n"},                 // part of the block
		{"since 0\nuntil 40\nstats count", "count\n4\n"},        // part of the block
		{"since 60\nstats count", "count\n4\n"},                 // memory only
		{"since 1000\nstats count", "count\n0\n"},               // nothing: one row
		{"where m = \"a\"\nstats count", "count\n10\n"},         // row by row
		{"stats count, count(m)", "count | count_m\n10 | 10\n"}, // row by row
	})
}

// TestPercentileKinds checks percentiles kept as integers against those
// that mix in other numbers.
func TestPercentileKinds(t *testing.T) {
	fields := []string{`"d":3`, `"d":1`, `"d":"x"`, `"d":2.5`, `"d":2`, `"e":1`, `"d":[4,-1]`}
	var lines []string
	var times []int64
	for i, f := range fields {
		lines = append(lines, fmt.Sprintf(`{"time_ns":%d,%s}`, i, f))
		times = append(times, int64(i))
	}
	src := testSource(t, lines, times) // d in memory: 2, 4, -1; in the segment: 3, 1, 2.5
	checkQueries(t, src, []queryCase{
		{"stats p50(d), p99(d), p999(d)", "p50_d | p99_d | p999_d\n2 | 4 | 4\n"},
		{"where time_ns != 3\nstats p50(d), max(d)", "p50_d | max_d\n2 | \"x\"\n"},
		{"where time_ns = 3\nstats p50(d)", "p50_d\n2.5\n"},
		{"where time_ns = 2\nstats p50(d)", "p50_d\nnull\n"},
	})
}
