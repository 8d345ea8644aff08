// Package event builds the JSON event lines that Stele writes itself: the
// supervisor's and the store's own events, and the wrappers that keep lines
// which are not events (plain text, stderr, pieces of over-long lines).
//
// Every line it builds is one JSON object ending in '\n', with "time_ns"
// first. Field names starting with '_' are Stele's own (DESIGN section 1):
//
//	_event   the name of an event Stele itself records (e.g. "child_exited")
//	_line    a line the program printed that is not an event, as a string
//	_line_b64 the same, base64 (standard, padded), when it is not valid UTF-8
//	_stream  "stdout" or "stderr": where a wrapped line came from
//	_part    1-based index of a piece of an over-long line
//	_more    1 when more pieces of the same line follow on the same stream
//	_time    where an inserted time_ns came from: "time", "ts" or "received"
package event

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"

	"stele/internal/jsonstr"
)

// Builder appends one event line to a byte slice. The zero value is not
// usable; start with Begin.
type Builder struct {
	buf []byte
}

// Begin starts an event named name at timeNS, appending to dst.
func Begin(dst []byte, timeNS int64, name string) Builder {
	dst = append(dst, `{"time_ns":`...)
	dst = strconv.AppendInt(dst, timeNS, 10)
	b := Builder{buf: dst}
	if name != "" {
		b.Str("_event", name)
	}
	return b
}

// Str adds a string field.
func (b *Builder) Str(key, val string) {
	b.key(key)
	b.buf = AppendString(b.buf, val)
}

// Bytes adds a string field from bytes, which must be valid UTF-8 to be
// kept exactly (invalid bytes become U+FFFD; use Raw for lossless keeping).
func (b *Builder) Bytes(key string, val []byte) {
	b.key(key)
	b.buf = appendStringBytes(b.buf, val)
}

// Int adds an integer field.
func (b *Builder) Int(key string, v int64) {
	b.key(key)
	b.buf = strconv.AppendInt(b.buf, v, 10)
}

// Raw adds the bytes of a line the program printed, losslessly: as "_line"
// when they are valid UTF-8, else base64 as "_line_b64".
func (b *Builder) Raw(line []byte) {
	if utf8.Valid(line) {
		b.Bytes("_line", line)
		return
	}
	b.key("_line_b64")
	b.buf = append(b.buf, '"')
	b.buf = base64.StdEncoding.AppendEncode(b.buf, line)
	b.buf = append(b.buf, '"')
}

// End closes the object and returns the buffer with the line appended.
func (b *Builder) End() []byte {
	return append(b.buf, '}', '\n')
}

func (b *Builder) key(k string) {
	b.buf = append(b.buf, ',')
	b.buf = AppendString(b.buf, k)
	b.buf = append(b.buf, ':')
}

// AppendString appends s as a JSON string; see jsonstr.Append.
func AppendString(dst []byte, s string) []byte { return jsonstr.Append(dst, s) }

func appendStringBytes(dst, s []byte) []byte {
	// Converting copies s (on the heap when it is long); own events and
	// wrapped lines are rare enough that one escaping routine is worth it.
	return jsonstr.Append(dst, string(s))
}
