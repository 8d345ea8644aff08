package table

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/zeebo/xxh3"

	"stele/internal/durable"
)

// Part of the format; never change.
const (
	manifestMagic   = "STELEMAN"
	manifestVersion = 1
	manifestName    = "MANIFEST"
)

var (
	// ErrCorrupt reports a manifest that fails its checksum or does not
	// decode.
	ErrCorrupt = errors.New("table: manifest corrupt")
)

// VersionError reports a manifest of a version this build cannot read.
type VersionError struct{ Version uint32 }

func (e *VersionError) Error() string {
	return fmt.Sprintf("table: manifest version %d, this build reads %d", e.Version, manifestVersion)
}

// manifest is the decoded MANIFEST.
type manifest struct {
	wal   uint64
	next  uint64
	segs  []Info
	state []byte
}

// Info is what the manifest says about one segment.
type Info struct {
	Part    int64
	N       uint64
	Bytes   int64
	Records int64
	MinTime int64
	MaxTime int64
}

func (m *manifest) encode() []byte {
	b := make([]byte, 0, 64+len(m.segs)*24+len(m.state))
	b = append(b, manifestMagic...)
	b = binary.LittleEndian.AppendUint32(b, manifestVersion)
	b = binary.LittleEndian.AppendUint64(b, m.wal)
	b = binary.LittleEndian.AppendUint64(b, m.next)
	b = binary.AppendUvarint(b, uint64(len(m.segs)))
	for _, s := range m.segs {
		b = binary.AppendVarint(b, s.Part)
		b = binary.AppendUvarint(b, s.N)
		b = binary.AppendUvarint(b, uint64(s.Bytes))
		b = binary.AppendUvarint(b, uint64(s.Records))
		b = binary.AppendVarint(b, s.MinTime)
		b = binary.AppendVarint(b, s.MaxTime)
	}
	b = binary.AppendUvarint(b, uint64(len(m.state)))
	b = append(b, m.state...)
	return binary.LittleEndian.AppendUint64(b, xxh3.Hash(b))
}

// decodeManifest decodes b, which is untrusted: the checksum is checked
// first, every count is bounded by the bytes left, and trailing bytes are
// refused.
func decodeManifest(b []byte) (*manifest, error) {
	if len(b) < 12 || string(b[:8]) != manifestMagic {
		return nil, fmt.Errorf("%w: bad magic", ErrCorrupt)
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != manifestVersion {
		return nil, &VersionError{v}
	}
	if len(b) < 36 {
		return nil, fmt.Errorf("%w: %d bytes", ErrCorrupt, len(b))
	}
	body, sum := b[:len(b)-8], binary.LittleEndian.Uint64(b[len(b)-8:])
	if xxh3.Hash(body) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	d := decoder{b: body[12:]}
	m := &manifest{wal: d.u64(), next: d.u64()}
	n := d.uvarint()
	// A segment takes at least 6 bytes, so n is bounded by the input.
	if n > maxSegments || n > uint64(len(d.b))/6 {
		return nil, fmt.Errorf("%w: %d segments", ErrCorrupt, n)
	}
	m.segs = make([]Info, 0, n)
	for range n {
		s := Info{Part: d.varint(), N: d.uvarint(), Bytes: int64(d.uvarint()), Records: int64(d.uvarint()), MinTime: d.varint(), MaxTime: d.varint()}
		if s.Part < 0 || s.Bytes < 0 || s.Records < 0 || s.N >= m.next {
			d.fail()
		}
		m.segs = append(m.segs, s)
	}
	l := d.uvarint()
	if l > uint64(len(d.b)) {
		d.fail()
	} else {
		m.state = append([]byte(nil), d.b[:l]...)
		d.b = d.b[l:]
	}
	if d.bad || len(d.b) != 0 {
		return nil, fmt.Errorf("%w: malformed", ErrCorrupt)
	}
	return m, nil
}

// decoder reads fields, remembering the first failure.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) fail() { d.bad, d.b = true, nil }

func (d *decoder) u64() uint64 {
	if len(d.b) < 8 {
		d.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// readManifest reads DIR/MANIFEST; a missing one is an empty table.
func readManifest(dir string) (*manifest, error) {
	path := filepath.Join(dir, manifestName)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return &manifest{next: 1}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("table: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("table: %w", err)
	}
	if fi.Size() > maxManifestBytes {
		return nil, fmt.Errorf("%w: %d bytes", ErrCorrupt, fi.Size())
	}
	b := make([]byte, fi.Size())
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("table: read manifest: %w", err)
	}
	m, err := decodeManifest(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// writeManifest replaces DIR/MANIFEST: temp file, fsync, rename, fsync dir.
func writeManifest(dir string, m *manifest) error {
	tmp, err := os.CreateTemp(dir, "."+manifestName+".tmp*")
	if err != nil {
		return fmt.Errorf("table: %w", err)
	}
	_, err = tmp.Write(m.encode())
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, manifestName))
	}
	if err == nil {
		err = durable.SyncDir(dir)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("table: write manifest: %w", err)
	}
	return nil
}
