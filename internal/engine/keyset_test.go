package engine

import (
	"math/rand/v2"
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
