package ingest

import "testing"

// TestMemtableChunks checks a memtable across chunk boundaries: order,
// indexing, and a snapshot that later adds leave alone.
func TestMemtableChunks(t *testing.T) {
	var m memtable
	var snap memtable
	const n = 2*memChunk + 5
	for i := range n {
		if i == memChunk {
			snap = m.snapshot()
		}
		m.add(Record{TimeNS: int64(i)})
	}
	i := 0
	for r := range m.all() {
		if r.TimeNS != int64(i) || m.at(i).TimeNS != int64(i) {
			t.Fatalf("record %d: %d, at %d", i, r.TimeNS, m.at(i).TimeNS)
		}
		i++
	}
	if i != n || m.n != n || len(m.chunks) != 3 {
		t.Fatalf("%d records yielded, n %d, %d chunks", i, m.n, len(m.chunks))
	}
	got := 0
	for range snap.all() {
		got++
	}
	if got != memChunk || snap.n != memChunk {
		t.Fatalf("snapshot yields %d records, n %d; want %d", got, snap.n, memChunk)
	}
}
