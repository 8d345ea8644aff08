package chunklog

import (
	"errors"
	"slices"
	"strings"
)

// ErrNotClosed reports a request for the checksums of the latest chunk,
// which has none until it closes.
var ErrNotClosed = errors.New("chunklog: chunk not closed")

// Region is one checksummed span of a closed chunk: readers that serve a
// chunk verify each region before passing its bytes on.
type Region struct {
	Offset int64
	Length int64
	sum    uint64
}

// Verify reports whether b, the bytes of the chunk at r.Offset, has r's
// checksum and ends on a line boundary.
func (r Region) Verify(b []byte) bool {
	return int64(len(b)) == r.Length && len(b) > 0 && b[len(b)-1] == '\n' && hash64(b) == r.sum
}

// Regions returns the checksummed regions of closed chunk id, contiguous
// from offset 0 to its size, as the log computed them when the chunk was
// written (or verified them on Open): available as soon as the chunk
// closes, before its .sum is on disk. It fails with ErrNotFound if the chunk
// is unknown or was discarded, and ErrNotClosed for the latest chunk.
func (l *Log) Regions(id string) ([]Region, Info, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.cur; c != nil && c.id == id {
		return nil, Info{ID: c.id, Size: c.size, Lines: c.lines}, ErrNotClosed
	}
	i, ok := slices.BinarySearchFunc(l.closed, id, func(c closedChunk, id string) int { return strings.Compare(c.ID, id) })
	if !ok {
		return nil, Info{}, ErrNotFound
	}
	cc := l.closed[i]
	out := make([]Region, 0, len(cc.regions))
	var off int64
	for _, r := range cc.regions {
		out = append(out, Region{Offset: off, Length: int64(r.length), sum: r.sum})
		off += int64(r.length)
	}
	return out, cc.Info, nil
}
