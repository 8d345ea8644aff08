package chunklog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/zeebo/xxh3"
)

// sumMagic and sumVersion open every .sum file. Part of the format; never change.
const (
	sumMagic   = "STELESUM"
	sumVersion = 1
	sumHeader  = 56
	sumEntry   = 12
	sumTrailer = 8
)

var (
	// ErrSumCorrupt reports a .sum file that is truncated, has trailing
	// bytes, or fails its own checksum.
	ErrSumCorrupt = errors.New("chunklog: checksum file corrupt")
	// ErrSumVersion reports a .sum file of a version this build does not know.
	ErrSumVersion = errors.New("chunklog: unknown checksum file version")
)

// region is one checksummed span of a chunk; regions are contiguous from
// offset 0.
type region struct {
	length uint32
	sum    uint64
}

// sumFile is the decoded content of a .sum file.
type sumFile struct {
	size       int64
	lines      int64
	closedWall int64
	etag       [16]byte
	regions    []region
}

func (s *sumFile) encode() []byte {
	b := make([]byte, 0, sumHeader+sumEntry*len(s.regions)+sumTrailer)
	b = append(b, sumMagic...)
	b = binary.LittleEndian.AppendUint32(b, sumVersion)
	b = binary.LittleEndian.AppendUint64(b, uint64(s.size))
	b = binary.LittleEndian.AppendUint64(b, uint64(s.lines))
	b = binary.LittleEndian.AppendUint64(b, uint64(s.closedWall))
	b = append(b, s.etag[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s.regions)))
	for _, r := range s.regions {
		b = binary.LittleEndian.AppendUint32(b, r.length)
		b = binary.LittleEndian.AppendUint64(b, r.sum)
	}
	return binary.LittleEndian.AppendUint64(b, xxh3.Hash(b))
}

// decodeSum parses a .sum file, checking its own checksum before anything
// else and rejecting trailing bytes.
func decodeSum(b []byte) (sumFile, error) {
	if len(b) < sumHeader+sumTrailer || string(b[:8]) != sumMagic {
		return sumFile{}, ErrSumCorrupt
	}
	body, trailer := b[:len(b)-sumTrailer], b[len(b)-sumTrailer:]
	if xxh3.Hash(body) != binary.LittleEndian.Uint64(trailer) {
		return sumFile{}, ErrSumCorrupt
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != sumVersion {
		return sumFile{}, fmt.Errorf("%w: %d", ErrSumVersion, v)
	}
	s := sumFile{
		size:       int64(binary.LittleEndian.Uint64(b[12:])),
		lines:      int64(binary.LittleEndian.Uint64(b[20:])),
		closedWall: int64(binary.LittleEndian.Uint64(b[28:])),
	}
	copy(s.etag[:], b[36:52])
	n := binary.LittleEndian.Uint32(b[52:])
	if n > maxRegions || len(body) != sumHeader+sumEntry*int(n) {
		return sumFile{}, ErrSumCorrupt
	}
	if s.size < 0 || s.size > MaxChunkBytes+MaxRecordBytes || s.lines < 0 {
		return sumFile{}, ErrSumCorrupt
	}
	regions := make([]region, 0, n) // n is bounded by the file's length, checked above
	var total int64
	for p := sumHeader; p < len(body); p += sumEntry {
		r := region{length: binary.LittleEndian.Uint32(b[p:]), sum: binary.LittleEndian.Uint64(b[p+4:])}
		if r.length == 0 {
			return sumFile{}, ErrSumCorrupt
		}
		total += int64(r.length)
		regions = append(regions, r)
	}
	if total != s.size {
		return sumFile{}, ErrSumCorrupt
	}
	s.regions = regions
	return s, nil
}

// summer computes a chunk's regions and whole-chunk hash as lines are
// appended, so closing a chunk need not read it back.
type summer struct {
	whole   xxh3.Hasher128
	part    xxh3.Hasher
	partLen int
	regions []region
}

func newSummer() *summer {
	return &summer{}
}

// write adds whole lines. A region ends at the first line end at or after
// RegionBytes.
func (s *summer) write(p []byte) {
	s.whole.Write(p)
	for len(p) > 0 {
		need := RegionBytes - s.partLen
		if need < 1 {
			need = 1
		}
		if need > len(p) {
			s.part.Write(p)
			s.partLen += len(p)
			return
		}
		i := indexByteFrom(p, need-1, '\n')
		if i < 0 {
			s.part.Write(p)
			s.partLen += len(p)
			return
		}
		s.part.Write(p[:i+1])
		s.partLen += i + 1
		s.cut()
		p = p[i+1:]
	}
}

func (s *summer) cut() {
	if s.partLen == 0 {
		return
	}
	s.regions = append(s.regions, region{length: uint32(s.partLen), sum: s.part.Sum64()})
	s.part.Reset()
	s.partLen = 0
}

// finish closes the last region and returns the regions and the ETag.
func (s *summer) finish() ([]region, [16]byte) {
	s.cut()
	return s.regions, s.whole.Sum128().Bytes()
}

func indexByteFrom(p []byte, from int, c byte) int {
	i := bytes.IndexByte(p[from:], c)
	if i < 0 {
		return -1
	}
	return from + i
}

// sumOf computes the checksums of a whole chunk held in memory.
func sumOf(data []byte) ([]region, [16]byte) {
	s := newSummer()
	s.write(data)
	return s.finish()
}

func hash64(b []byte) uint64 { return xxh3.Hash(b) }
