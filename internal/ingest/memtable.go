package ingest

import (
	"iter"
	"slices"
)

// memChunk is how many records one allocation of a memtable holds: a
// memtable grows a chunk at a time, so that its records are never copied
// to a larger slice, which would leave the old one as garbage and up to a
// quarter of the new one spare.
const memChunk = 4096

// memtable is records in acceptance order, in chunks of memChunk. It only
// grows; a snapshot keeps seeing the records it had while more are added.
type memtable struct {
	chunks [][]Record // each of capacity memChunk, all full but the last
	n      int
}

func (m *memtable) add(r Record) {
	if m.n%memChunk == 0 {
		m.chunks = append(m.chunks, make([]Record, 0, memChunk))
	}
	last := &m.chunks[len(m.chunks)-1]
	*last = append(*last, r)
	m.n++
}

// snapshot returns the records m holds now, unchanged by later adds: to
// read without holding the lock that guards m.
func (m *memtable) snapshot() memtable {
	return memtable{chunks: slices.Clone(m.chunks), n: m.n}
}

// all yields every record in order.
func (m *memtable) all() iter.Seq[*Record] {
	return func(yield func(*Record) bool) {
		for _, c := range m.chunks {
			for i := range c {
				if !yield(&c[i]) {
					return
				}
			}
		}
	}
}

// at returns record i.
func (m *memtable) at(i int) *Record { return &m.chunks[i/memChunk][i%memChunk] }
