package engine

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/zeebo/xxh3"
)

// TestKeySet checks the set's count and memory against a map, through
// its growth into parts, batches, merges and the zero key.
func TestKeySet(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 100, keySetBig - 1, keySetBig, 3 * keySetBig} {
		var a, b keySet
		want := map[xxh3.Uint128]bool{}
		var memA, memB int64
		for i := range 2 * n {
			// Half the keys are repeats; the zero key now and then.
			k := xxh3.Uint128{Lo: rng.Uint64N(uint64(n) + 1), Hi: 7}
			if i%1000 == 999 {
				k = xxh3.Uint128{}
			}
			want[k] = true
			if i%2 == 0 {
				memA += a.add(k)
			} else {
				memB += b.add(k)
			}
		}
		memA += a.flush()
		memB += b.flush()
		if got := int64(a.len()+b.len()) * keyCost; memA+memB != got {
			t.Errorf("n %d: charged %d for %d keys in two sets, want %d", n, memA+memB, a.len()+b.len(), got)
		}
		a.merge(&b)
		if a.len() != len(want) {
			t.Errorf("n %d: %d keys after merge, want %d", n, a.len(), len(want))
		}
	}
}

// BenchmarkKeySet adds keys as distinct over a dictionary column does:
// each block's distinct values once, 600 that every block has and 3,100
// drawn from a tail of 100,000, in 600 blocks; ns/op is per key added.
func BenchmarkKeySet(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([]xxh3.Uint128, 100_000)
	for i := range keys {
		keys[i] = xxh3.Hash128([]byte(strconv.Itoa(i)))
	}
	var adds []xxh3.Uint128
	for range 600 {
		adds = append(adds, keys[:600]...)
		for range 3100 {
			adds = append(adds, keys[600+rng.IntN(len(keys)-600)])
		}
	}
	b.ResetTimer()
	for b.Loop() {
		var s keySet
		for _, k := range adds {
			s.add(k)
		}
		if n := s.len(); n < 90_000 {
			b.Fatalf("%d keys", n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(adds)), "ns/key")
}
