package engine

import (
	"math"
	"testing"

	"stele/internal/query"
)

// TestIntSpan: the range form of an integer comparison, which the vector
// filter uses, holds exactly when the comparison does.
func TestIntSpan(t *testing.T) {
	edges := []int64{math.MinInt64, math.MinInt64 + 1, -2, -1, 0, 1, 2, 499, 500, 501, math.MaxInt64 - 1, math.MaxInt64}
	for _, op := range []query.Op{query.Eq, query.Ne, query.Lt, query.Le, query.Gt, query.Ge} {
		for _, lit := range edges {
			c := intCmp{op: op, lit: lit}
			lo, width, not := c.span()
			for _, x := range edges {
				got := b2i(uint64(x)-lo <= width)^not == 1
				if want := c.holds(x); got != want {
					t.Errorf("%d %s %d: span says %v, compare %v", x, op, lit, got, want)
				}
			}
		}
	}
}
