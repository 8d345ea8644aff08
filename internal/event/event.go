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
//	_time    "received" when time_ns is the supervisor's receive time
package event

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"
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

const hex = "0123456789abcdef"

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = appendEscape(dst, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript readers.
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func appendStringBytes(dst, s []byte) []byte {
	// The conversion does not allocate: AppendString does not retain s.
	return AppendString(dst, string(s))
}

func appendEscape(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
}
