package dedup

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestKeyOf(t *testing.T) {
	a := KeyOf("web1", []byte(`{"time_ns":1,"a":"b"}`))
	if a != KeyOf("web1", []byte(" \t{\"time_ns\":1,\"a\":\"b\"}\r\n")) {
		t.Error("surrounding whitespace changed the identity")
	}
	if a == KeyOf("web2", []byte(`{"time_ns":1,"a":"b"}`)) {
		t.Error("the source is not part of the identity")
	}
	if a == KeyOf("web1", []byte(`{"time_ns":1,"a":"c"}`)) {
		t.Error("content is not part of the identity")
	}
	// The separator keeps source and content apart.
	if KeyOf("ab", []byte("c")) == KeyOf("a", []byte("bc")) {
		t.Error("source/content boundary is ambiguous")
	}
}

func TestIndexAddsEachKeyOnce(t *testing.T) {
	x := NewIndex(1 << 20)
	x.Create(7)
	for round := range 2 {
		for i := range 10000 {
			isNew, err := x.Add(7, KeyOf("s", fmt.Appendf(nil, "line %d", i)))
			if err != nil {
				t.Fatal(err)
			}
			if isNew != (round == 0) {
				t.Fatalf("round %d key %d: new=%v", round, i, isNew)
			}
		}
	}
	if x.Len() != 10000 {
		t.Fatalf("Len %d", x.Len())
	}
	if new, _ := x.Add(7, Key{}); !new {
		t.Fatal("zero key not added")
	}
	if new, _ := x.Add(7, Key{}); new {
		t.Fatal("zero key added twice")
	}
}

func TestIndexEvictsLeastRecentlyUsedPartition(t *testing.T) {
	x := NewIndex(250)
	fill := func(p int64, n int) {
		x.Load(p, func(yield func(Key) bool) {
			for i := range n {
				if !yield(KeyOf("s", fmt.Appendf(nil, "%d-%d", p, i))) {
					return
				}
			}
		})
	}
	fill(1, 100)
	fill(2, 100)
	x.Add(1, KeyOf("s", []byte("touch"))) // 1 is now more recent than 2
	fill(3, 100)
	if !x.Resident(1) || x.Resident(2) || !x.Resident(3) {
		t.Fatalf("resident 1=%v 2=%v 3=%v; want 2 evicted", x.Resident(1), x.Resident(2), x.Resident(3))
	}
	if x.Len() > 250 {
		t.Fatalf("Len %d over budget", x.Len())
	}
	if _, err := x.Add(2, Key{1}); err != ErrNotResident {
		t.Fatalf("Add to evicted partition: %v", err)
	}
	// Reloading gives the same answers as before eviction.
	fill(2, 100)
	if new, _ := x.Add(2, KeyOf("s", []byte("2-5"))); new {
		t.Fatal("reloaded partition forgot a key")
	}
}

func BenchmarkAdd(b *testing.B) {
	x := NewIndex(1 << 30)
	x.Create(0)
	keys := make([]Key, 1<<20)
	for i := range keys {
		keys[i] = KeyOf("src", fmt.Appendf(nil, `{"time_ns":%d}`, i))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x.Add(0, keys[i&(len(keys)-1)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "adds/s")
}

// TestSetRemove checks removal against a map, with keys crowded into few
// home slots so that probe runs are long and wrap around the table.
func TestSetRemove(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := newSet(0)
	want := map[Key]bool{}
	key := func() Key {
		var k Key
		k[0] = byte(rng.IntN(8)) | byte(rng.IntN(2))*0xf8 // few homes, some near the end
		k[9] = byte(rng.IntN(40))
		return k
	}
	for round := range 20000 {
		k := key()
		if rng.IntN(3) == 0 {
			if got := s.remove(k); got != want[k] {
				t.Fatalf("round %d: remove(%x) = %v, want %v", round, k[:10], got, want[k])
			}
			delete(want, k)
		} else {
			if got := s.add(k); got == want[k] {
				t.Fatalf("round %d: add(%x) = %v with the key present: %v", round, k[:10], got, want[k])
			}
			want[k] = true
		}
		if s.n != len(want) {
			t.Fatalf("round %d: %d keys, want %d", round, s.n, len(want))
		}
	}
	for k := range want {
		if s.add(k) {
			t.Fatalf("key %x lost", k[:10])
		}
	}
	s.remove(Key{})
	if s.remove(Key{}) || !s.add(Key{}) || !s.remove(Key{}) || s.remove(Key{}) {
		t.Error("the zero key is not added and removed once")
	}
}
