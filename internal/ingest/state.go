package ingest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"stele/internal/chunklog"
)

// ErrState reports checkpoints in the manifest that do not decode.
var ErrState = errors.New("ingest: checkpoint state corrupt")

// encodeState returns the checkpoints of every chunk, which the manifest
// keeps (package table) with the segments they go with:
//
//	uvarint count of sources, then per source, in name order:
//	  uvarint len | name | uvarint count of chunks, then per chunk, in id order:
//	    uvarint len | id | uvarint offset | complete u8 (0 or 1)
//
// Part of the format; never change without a version in the manifest.
func (s *Store) encodeState() []byte {
	s.cmu.RLock()
	defer s.cmu.RUnlock()
	b := binary.AppendUvarint(nil, uint64(len(s.chunks)))
	names := make([]string, 0, len(s.chunks))
	for name := range s.chunks {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		m := s.chunks[name]
		b = binary.AppendUvarint(b, uint64(len(name)))
		b = append(b, name...)
		b = binary.AppendUvarint(b, uint64(len(m)))
		ids := make([]string, 0, len(m))
		for id := range m {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			cp := m[id].cp
			b = binary.AppendUvarint(b, uint64(len(id)))
			b = append(b, id...)
			b = binary.AppendUvarint(b, uint64(cp.Offset))
			if cp.Complete {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		}
	}
	return b
}

// decodeState restores the checkpoints of encodeState. The manifest's
// checksum covers the bytes, but they are decoded with the same care as
// any file: counts are bounded by the bytes left, names and ids checked.
func (s *Store) decodeState(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrState, what) }
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	str := func(maxLen int) (string, bool) {
		l, ok := next()
		if !ok || l == 0 || l > uint64(maxLen) || l > uint64(len(b)) {
			return "", false
		}
		v := string(b[:l])
		b = b[l:]
		return v, true
	}
	nsrc, ok := next()
	if !ok || nsrc > uint64(len(b)) {
		return bad("source count")
	}
	for range nsrc {
		name, ok := str(maxSourceLen)
		if !ok || !validSource(name) {
			return bad("source name")
		}
		nchunks, ok := next()
		if !ok || nchunks > uint64(len(b))/4 {
			return bad("chunk count of " + name)
		}
		for range nchunks {
			id, ok := str(maxChunkLen)
			if !ok || !chunklog.ValidID(id) {
				return bad("chunk id of " + name)
			}
			off, ok := next()
			if !ok || off > 1<<62 || len(b) == 0 || b[0] > 1 {
				return bad("checkpoint of " + name + " " + id)
			}
			c := s.chunk(name, id)
			c.cp = Checkpoint{Offset: int64(off), Complete: b[0] == 1}
			b = b[1:]
		}
	}
	if len(b) != 0 {
		return bad("trailing bytes")
	}
	return nil
}

// Forget drops the checkpoints of the chunks of source with ids before
// before: chunks the source has discarded, which can never be fetched
// again, so the state stays bounded by what sources keep.
func (s *Store) Forget(source, before string) int {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	n := 0
	for id := range s.chunks[source] {
		if id < before {
			delete(s.chunks[source], id)
			n++
		}
	}
	return n
}
