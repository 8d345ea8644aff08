package engine

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// TestExactSum compares exactSum with big.Float arithmetic over terms
// chosen to lose precision in float64 (cancellation, wide magnitudes,
// int64 overflow), in two orders and split in two merged halves: the
// results are equal to each other and to the exactly rounded sum.
func TestExactSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for round := range 2000 {
		n := rng.IntN(20) + 1
		ints := make([]int64, 0, n)
		floats := make([]float64, 0, n)
		for range n {
			switch rng.IntN(4) {
			case 0:
				ints = append(ints, rng.Int64()-math.MaxInt64/2*int64(rng.IntN(3)))
			case 1:
				ints = append(ints, rng.Int64N(1000)-500)
			case 2:
				floats = append(floats, math.Ldexp(rng.Float64()-0.5, rng.IntN(200)-100))
			default:
				floats = append(floats, []float64{1e16, 1, -1e16, 0.1, 3}[rng.IntN(5)])
			}
		}
		exact := new(big.Float).SetPrec(4096)
		for _, x := range ints {
			exact.Add(exact, new(big.Float).SetInt64(x))
		}
		for _, x := range floats {
			exact.Add(exact, big.NewFloat(x))
		}
		want, _ := exact.Float64()

		var fwd, back, a, b exactSum
		for i, x := range ints {
			fwd.addInt(x)
			back.addInt(ints[len(ints)-1-i])
			if i%2 == 0 {
				a.addInt(x)
			} else {
				b.addInt(x)
			}
		}
		for i, x := range floats {
			fwd.addFloat(x)
			back.addFloat(floats[len(floats)-1-i])
			if i%2 == 0 {
				b.addFloat(x)
			} else {
				a.addFloat(x)
			}
		}
		a.merge(&b)
		for name, s := range map[string]*exactSum{"forward": &fwd, "backward": &back, "merged": &a} {
			if got := s.float(); got != want {
				t.Fatalf("round %d, %s: %v, want %v (ints %v floats %v)", round, name, got, want, ints, floats)
			}
			i, ok := s.int()
			wantOK := len(floats) == 0 && exact.IsInt()
			if wantOK {
				bi, acc := exact.Int64()
				wantOK = acc == big.Exact
				if wantOK && i != bi {
					t.Fatalf("round %d, %s: int %d, want %d", round, name, i, bi)
				}
			}
			if ok != wantOK {
				t.Fatalf("round %d, %s: int ok %v, want %v (ints %v)", round, name, ok, wantOK, ints)
			}
		}
	}
	var negZero exactSum
	negZero.addFloat(math.Copysign(0, -1))
	if z := negZero.float(); z != 0 || math.Signbit(z) {
		t.Errorf("a sum of -0 is %v, want 0", z)
	}
	var inf exactSum
	inf.addFloat(1)
	inf.addFloat(math.Inf(1))
	if !math.IsNaN(inf.float()) {
		t.Error("a sum with an infinite term is a number")
	}
}
