package ingest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"stele/internal/chunklog"
)

// Part of the format; never change.
const (
	kindBatch      = 1
	flagComplete   = 1
	batchFixedSize = 28 // header bytes besides the source name and chunk id
)

// ErrRecord reports a log record that does not decode.
var ErrRecord = errors.New("ingest: malformed log record")

// batch is one decoded log record. lines aliases the payload.
type batch struct {
	source   string
	chunk    string
	end      int64
	received int64
	complete bool
	count    int
	lines    []byte // count lines, each ending in '\n'
}

// appendBatch encodes b after dst. The caller has validated its fields.
func appendBatch(dst []byte, b *batch) []byte {
	return append(appendHeader(dst, b, len(b.lines)), b.lines...)
}

// appendHeader encodes the fields of b before the lines, for lines of
// length n that the caller appends.
func appendHeader(dst []byte, b *batch, n int) []byte {
	dst = append(dst, kindBatch, byte(len(b.source)))
	dst = append(dst, b.source...)
	dst = append(dst, byte(len(b.chunk)))
	dst = append(dst, b.chunk...)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(b.end))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(b.received))
	var flags byte
	if b.complete {
		flags |= flagComplete
	}
	dst = append(dst, flags)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(b.count))
	return binary.LittleEndian.AppendUint32(dst, uint32(n))
}

// decodeBatch decodes a whole payload into a temporary and returns it only
// if every field is valid and nothing follows the lines.
func decodeBatch(p []byte) (batch, error) {
	var b batch
	fail := func(what string) (batch, error) {
		return batch{}, fmt.Errorf("%w: %s", ErrRecord, what)
	}
	if len(p) > maxRecordBytes {
		return fail("too large")
	}
	if len(p) < 2 {
		return fail("short header")
	}
	if p[0] != kindBatch {
		return fail(fmt.Sprintf("unknown kind %d", p[0]))
	}
	n := int(p[1])
	p = p[2:]
	if n > len(p) {
		return fail("source name cut short")
	}
	b.source = string(p[:n])
	if !validSource(b.source) {
		return fail("bad source name")
	}
	p = p[n:]
	if len(p) < 1 {
		return fail("short header")
	}
	n = int(p[0])
	p = p[1:]
	if n > len(p) {
		return fail("chunk id cut short")
	}
	b.chunk = string(p[:n])
	if !chunklog.ValidID(b.chunk) {
		return fail("bad chunk id")
	}
	p = p[n:]
	if len(p) < batchFixedSize-3 {
		return fail("short header")
	}
	end := int64(binary.LittleEndian.Uint64(p))
	if end < 0 {
		return fail("negative end offset")
	}
	b.end = end
	b.received = int64(binary.LittleEndian.Uint64(p[8:]))
	flags := p[16]
	if flags&^flagComplete != 0 {
		return fail("unknown flags")
	}
	b.complete = flags&flagComplete != 0
	count := binary.LittleEndian.Uint32(p[17:])
	length := binary.LittleEndian.Uint32(p[21:])
	p = p[25:]
	if uint64(length) != uint64(len(p)) {
		return fail("lines length does not match the record")
	}
	if length > 0 && p[len(p)-1] != '\n' {
		return fail("last line without newline")
	}
	if uint64(bytes.Count(p, []byte{'\n'})) != uint64(count) {
		return fail("line count does not match the lines")
	}
	if uint64(length) > uint64(end) {
		return fail("more line bytes than the chunk holds up to end")
	}
	b.count = int(count)
	b.lines = p
	return b, nil
}

// validSource reports whether s is a source name: 1 to 64 of
// [A-Za-z0-9_.-], as internal/sources accepts.
func validSource(s string) bool {
	if len(s) < 1 || len(s) > maxSourceLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}
