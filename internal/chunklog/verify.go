package chunklog

import (
	"errors"
	"fmt"
	"io/fs"
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
// from offset 0 to its size, read from its .sum file. It fails with
// ErrNotFound if the chunk is unknown or was discarded, ErrNotClosed for
// the latest chunk, and ErrSumCorrupt if the .sum does not describe the
// chunk the log knows.
func (l *Log) Regions(id string) ([]Region, Info, error) {
	info, err := l.Stat(id)
	if err != nil {
		return nil, Info{}, err
	}
	if !info.Closed {
		return nil, info, ErrNotClosed
	}
	b, err := readBounded(l.path(id+".sum"), sumHeader+sumEntry*maxRegions+sumTrailer)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, Info{}, ErrNotFound // discarded since Stat
		}
		return nil, Info{}, fmt.Errorf("chunklog: checksums of %s: %w", id, err)
	}
	s, err := decodeSum(b)
	if err != nil {
		return nil, Info{}, fmt.Errorf("chunklog: checksums of %s: %w", id, err)
	}
	if s.size != info.Size || s.etag != info.ETag {
		return nil, Info{}, fmt.Errorf("chunklog: checksums of %s: %w: they describe another chunk", id, ErrSumCorrupt)
	}
	out := make([]Region, 0, len(s.regions))
	var off int64
	for _, r := range s.regions {
		out = append(out, Region{Offset: off, Length: int64(r.length), sum: r.sum})
		off += int64(r.length)
	}
	return out, info, nil
}
