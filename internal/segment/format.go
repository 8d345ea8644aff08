package segment

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/zeebo/xxh3"
)

// Magic begins and ends every segment file. Part of the format; never
// change.
const Magic = "STELESEG"

// Version is the format version written after the leading magic. Part of
// the format; change it, never its meaning.
const Version = 1

// Fixed sizes. Part of the format; never change.
const (
	headerSize   = 8 + 4 // magic, version u32
	trailerSize  = 4 + 8 // footer length u32, magic
	checksumSize = 8     // xxh3-64, little endian
)

// Errors of the reader. Corruption of any kind wraps ErrCorrupt.
var (
	ErrCorrupt  = errors.New("segment: corrupt file")
	ErrChecksum = fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	ErrNoColumn = errors.New("segment: column not in block")
)

// VersionError is returned for a file of a version this code cannot read.
type VersionError struct{ Version uint32 }

func (e *VersionError) Error() string {
	return fmt.Sprintf("segment: unsupported format version %d (this reader knows %d)", e.Version, Version)
}

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// sum is the checksum of a chunk or footer body.
func sum(b []byte) uint64 { return xxh3.Hash(b) }

// appendSum appends the checksum of b[from:] to b.
func appendSum(b []byte, from int) []byte {
	return binary.LittleEndian.AppendUint64(b, sum(b[from:]))
}

// verify checks the trailing checksum of b and returns the body.
func verify(b []byte) ([]byte, error) {
	if len(b) < checksumSize {
		return nil, corruptf("%d bytes is too short for a checksum", len(b))
	}
	body := b[:len(b)-checksumSize]
	if binary.LittleEndian.Uint64(b[len(body):]) != sum(body) {
		return nil, ErrChecksum
	}
	return body, nil
}

// decoder reads varints and bytes of a checksummed body.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = corruptf("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a count that must be at most limit.
func (d *decoder) count(limit int) int {
	v := d.uvarint()
	if d.err == nil && v > uint64(limit) {
		d.err = corruptf("count %d above %d", v, limit)
		return 0
	}
	return int(v)
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = corruptf("unexpected end")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.err = corruptf("length %d beyond the end", n)
		return nil
	}
	b := d.b[:n]
	d.b = d.b[n:]
	return b
}

// bloom is a bloom filter over strings with bloomProbes probes derived from
// one xxh3 hash (double hashing). Its size is a power of two bytes.
type bloom []byte

func newBloom(distinct int) bloom {
	n := 8
	for n*8 < distinct*bloomBitsPerValue {
		n *= 2
	}
	return make(bloom, n)
}

func (b bloom) probes(s string, f func(bit uint64)) {
	h := xxh3.HashString(s)
	h1, h2 := h, h>>32|1
	m := uint64(len(b)) * 8
	for i := range uint64(bloomProbes) {
		f((h1 + i*h2) & (m - 1))
	}
}

func (b bloom) add(s string) {
	b.probes(s, func(bit uint64) { b[bit>>3] |= 1 << (bit & 7) })
}

func (b bloom) mayContain(s string) bool {
	ok := true
	b.probes(s, func(bit uint64) { ok = ok && b[bit>>3]&(1<<(bit&7)) != 0 })
	return ok
}
