// Package jsonscan checks one event line in a single pass: is it exactly one
// JSON object, is it valid UTF-8, and when did it happen. The supervisor
// calls it for every line a program prints, so it never allocates in the
// common case and never recurses.
//
// # Validity
//
// Result.Object is true exactly when encoding/json.Valid accepts the line and
// its top-level value is an object. That includes encoding/json's nesting
// limit of 10000 and its acceptance of invalid UTF-8 inside strings; the
// latter is why Result.UTF8 is reported separately (utf8.Valid over the whole
// line). The timestamp fields are set only when Object is true.
//
// The scan is iterative and linear in the line's length. A line nested more
// than 64 levels deep is scanned a second time with room for the full 10000,
// so that the common case need not clear that much stack.
//
// # Timestamps
//
// Only top-level keys count; nested objects and arrays are validated and
// skipped. Keys are matched on their raw bytes: a key spelled with escapes,
// such as "time\u005fns", is not recognised. When a key appears more than
// once, its first occurrence is the one used (encoding/json's Unmarshal keeps
// the last).
//
// A top-level "time_ns" decides alone. It is usable when its value is a JSON
// integer written as plain digits (no sign, fraction or exponent) that fits
// an int64; otherwise TimeNSKey is set, HasTime is not, and no other key is
// looked at, because the caller wraps such lines rather than guess.
//
// Without "time_ns", "time" is tried and then "ts". Each may be:
//
//   - a string in RFC 3339 / ISO 8601 form: YYYY-MM-DD, then 'T', 't' or a
//     space, then hh:mm:ss, optional fractional seconds after '.' or ','
//     (digits past nanoseconds are truncated), then 'Z', 'z', ±hh:mm or
//     ±hhmm. Fields are range-checked as RFC 3339 asks, except that a leap
//     second (:60) is refused, as Go's time package does. This covers Go slog and zerolog ("time"), bunyan and pino's
//     isoTime ("time") and zap's ISO 8601 encoder ("ts"). A string value
//     containing escapes is not parsed.
//   - a non-negative JSON number (integer, fraction or exponent), a Unix
//     time whose unit is chosen by magnitude: below 1e11 it is seconds (zap's
//     float "ts", zerolog's unix "time"), below 1e14 milliseconds (pino and
//     bunyan "time", zerolog's ms), below 1e17 microseconds, otherwise
//     nanoseconds. 1e11 s is the year 5138 and 1e11 ms is March 1973, so the
//     only misread times are milliseconds before 1973. The conversion is
//     exact decimal arithmetic, truncated to the nanosecond; no float64 is
//     involved.
//
// A value that is not usable (wrong type, unparsable, before 1970, beyond
// what int64 nanoseconds hold) lets the next key be tried. HasTime therefore
// always means 0 <= TimeNS.
package jsonscan

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// Result describes one line.
type Result struct {
	// Object: the line is exactly one JSON object, JSON whitespace around it
	// allowed; true exactly when json.Valid is and the top level is an object.
	Object bool
	// UTF8: the whole line is valid UTF-8, as utf8.Valid reports it.
	UTF8 bool
	// HasTime: a usable timestamp was found; see the package documentation.
	HasTime bool
	// TimeNS is nanoseconds since the Unix epoch, when HasTime.
	TimeNS int64
	// TimeKey names the key the time came from: "time_ns", "time" or "ts".
	TimeKey string
	// TimeNSKey: the object has a top-level "time_ns" key, usable or not.
	TimeNSKey bool
	// ReservedKey: a top-level key starts with '_', the prefix DESIGN
	// section 1 reserves for Stele's own fields, or starts with an escape,
	// which might spell one.
	ReservedKey bool
}

// The keys whose first top-level value Scan keeps, in order of preference.
const (
	keyTimeNS = iota
	keyTime
	keyTS
	numKeys
	keyNone = numKeys
)

// keyNames are constants so Result.TimeKey never allocates.
var keyNames = [numKeys]string{keyTimeNS: "time_ns", keyTime: "time", keyTS: "ts"}

// What kind of JSON value a timestamp key held.
const (
	kindString = iota + 1
	kindNumber
	kindOther // a literal, object or array: never a timestamp
)

// field is where the first top-level value of a timestamp key lies.
type field struct {
	kind    uint8 // 0 while the key has not been seen
	escaped bool  // a string value contained a backslash escape
	start   int   // value bytes; a string's without its quotes
	end     int
}

// Scan describes one line, given without its trailing newline.
func Scan(line []byte) Result {
	var fields [numKeys]field
	var stack [shallowWords]uint64
	out, flags, root := validate(line, &fields, stack[:])
	if out == tooDeep {
		fields = [numKeys]field{}
		out, flags, root = validateDeep(line, &fields)
	}
	if out != valid {
		return Result{UTF8: utf8.Valid(line)}
	}
	// In valid JSON every byte outside strings is ASCII, so the strings'
	// UTF-8 is the line's.
	utf8OK := flags&badUTF8 == 0
	if root != '{' {
		return Result{UTF8: utf8OK}
	}
	// One literal, not fields set one by one: copying a Result assembled
	// from byte stores stalled the CPU (store forwarding) on every line.
	ns, key := pickTime(line, &fields)
	return Result{
		Object:      true,
		UTF8:        utf8OK,
		HasTime:     key != "",
		TimeNS:      ns,
		TimeKey:     key,
		TimeNSKey:   fields[keyTimeNS].kind != 0,
		ReservedKey: flags&reservedKey != 0,
	}
}

// pickTime chooses the line's timestamp from the recorded fields as the
// package documentation orders them. key is "" when there is none.
func pickTime(line []byte, fields *[numKeys]field) (ns int64, key string) {
	if f := fields[keyTimeNS]; f.kind != 0 {
		if f.kind == kindNumber {
			if ns, ok := parseTimeNS(line[f.start:f.end]); ok {
				return ns, keyNames[keyTimeNS]
			}
		}
		return 0, ""
	}
	for k := keyTime; k <= keyTS; k++ {
		if ns, ok := fields[k].timestamp(line); ok {
			return ns, keyNames[k]
		}
	}
	return 0, ""
}

// timestamp interprets a "time" or "ts" value.
func (f field) timestamp(line []byte) (int64, bool) {
	switch f.kind {
	case kindString:
		if f.escaped {
			return 0, false
		}
		return parseTimeString(line[f.start:f.end])
	case kindNumber:
		return parseTimeNumber(line[f.start:f.end])
	}
	return 0, false
}

// matchKey reports which timestamp key the raw key bytes spell, if any.
func matchKey(key []byte) int {
	// The conversions are compared, never kept, so they do not allocate.
	switch string(key) {
	case "time_ns":
		return keyTimeNS
	case "time":
		return keyTime
	case "ts":
		return keyTS
	}
	return keyNone
}

// What validate found.
const (
	invalid = iota
	valid
	tooDeep // nesting outgrew the stack given; retry with validateDeep
)

// Flags that string scanning accumulates.
const (
	escaped     = 1 << iota // a backslash escape
	badUTF8                 // invalid UTF-8, which JSON strings may carry
	reservedKey             // a top-level key starting with '_' or an escape
)

// shallowWords sizes the container stack Scan tries first: 64 levels cover
// real events and keep the common case from clearing the 1.25 KiB that
// validateDeep needs for encoding/json's full depth.
const shallowWords = 1

// validateDeep is validate with room for maxDepth levels.
func validateDeep(line []byte, fields *[numKeys]field) (out int, flags uint8, root byte) {
	var stack [(maxDepth + 63) / 64]uint64
	return validate(line, fields, stack[:])
}

// validate walks the line once, iteratively, keeping one bit per open
// container in stack (set for an object), and records in fields the first
// top-level value of each timestamp key; once "time_ns" has been recorded it
// stops matching keys, as Scan then looks at no other. It returns the
// outcome, the string flags seen and the root value's first byte.
func validate(line []byte, fields *[numKeys]field, stack []uint64) (out int, flags uint8, root byte) {
	limit := min(len(stack)*64, maxDepth)
	depth := 0
	inObject := false  // the innermost open container is an object: stack's top bit, kept at hand
	pending := keyNone // the top-level key whose value comes next
	n := len(line)
	i := skipSpace(line, 0)
	if i >= n {
		return invalid, flags, 0
	}
	root = line[i]
	expectKey := false // an object member starts at i
	for {
		if expectKey {
			expectKey = false
			if i >= n || line[i] != '"' {
				return invalid, flags, root
			}
			end, f := scanString(line, i+1)
			flags |= f
			if end < 0 {
				return invalid, flags, root
			}
			if depth == 1 {
				if end > i+1 && (line[i+1] == '_' || line[i+1] == '\\') {
					flags |= reservedKey
				}
				if f&escaped == 0 && fields[keyTimeNS].kind == 0 {
					if k := matchKey(line[i+1 : end]); k != keyNone && fields[k].kind == 0 {
						pending = k
					}
				}
			}
			// Compact JSON has the ':' right after the key.
			i = end + 1
			if i >= n || line[i] != ':' {
				i = skipSpace(line, i)
				if i >= n || line[i] != ':' {
					return invalid, flags, root
				}
			}
			i = skipSpace(line, i+1)
		}

		// A value starts at i.
		if i >= n {
			return invalid, flags, root
		}
		switch c := line[i]; c {
		case '{', '[':
			if depth == limit {
				if limit == maxDepth {
					return invalid, flags, root
				}
				return tooDeep, flags, root
			}
			inObject = c == '{'
			if inObject {
				stack[depth>>6] |= 1 << (depth & 63)
			} else {
				stack[depth>>6] &^= 1 << (depth & 63)
			}
			depth++
			if pending != keyNone {
				fields[pending] = field{kind: kindOther}
				pending = keyNone
			}
			i = skipSpace(line, i+1)
			if i < n && line[i] == c+2 { // '{'+2 is '}', '['+2 is ']'
				break // empty: the loop below closes it
			}
			expectKey = inObject
			continue
		case '"':
			end, f := scanString(line, i+1)
			flags |= f
			if end < 0 {
				return invalid, flags, root
			}
			if pending != keyNone {
				fields[pending] = field{kind: kindString, escaped: f&escaped != 0, start: i + 1, end: end}
				pending = keyNone
			}
			i = end + 1
		case 't', 'f', 'n':
			end := scanLiteral(line, i)
			if end < 0 {
				return invalid, flags, root
			}
			if pending != keyNone {
				fields[pending] = field{kind: kindOther}
				pending = keyNone
			}
			i = end
		default:
			end := scanNumber(line, i)
			if end < 0 {
				return invalid, flags, root
			}
			if pending != keyNone {
				fields[pending] = field{kind: kindNumber, start: i, end: end}
				pending = keyNone
			}
			i = end
		}

		// A value ended: close containers until one continues.
		for {
			// Compact JSON has the ',' right after the value.
			if i < n && line[i] == ',' && depth > 0 {
				i = skipSpace(line, i+1)
				expectKey = inObject
				break
			}
			i = skipSpace(line, i)
			if depth == 0 {
				if i != n {
					return invalid, flags, root
				}
				return valid, flags, root
			}
			if i >= n {
				return invalid, flags, root
			}
			c := line[i]
			if c == ',' {
				i = skipSpace(line, i+1)
				expectKey = inObject
				break
			}
			if (inObject && c == '}') || (!inObject && c == ']') {
				depth--
				if depth > 0 {
					top := depth - 1
					inObject = stack[top>>6]>>(top&63)&1 == 1
				}
				i++
				continue
			}
			return invalid, flags, root
		}
	}
}

// skipSpace returns the index of the first non-whitespace byte at or after i.
func skipSpace(line []byte, i int) int {
	for ; i < len(line); i++ {
		// Compact JSON has no whitespace: settle that with one comparison.
		if c := line[i]; c > ' ' || (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			return i
		}
	}
	return i
}

// Eight-bytes-at-a-time constants: one bit per byte of a word.
const (
	lsbs = 0x0101010101010101
	msbs = 0x8080808080808080
)

// stopBytes sets the high bit of each byte of w at which a string scan must
// stop: a control byte (below 0x20), '"' (0x22), '\\' or a non-ASCII byte.
//
// XORing 0x02 maps the bytes below 0x20 among themselves and '"' to 0x20,
// while 0x20 and 0x21 go to 0x22 and 0x23, so the first two kinds are
// exactly the bytes of t below 0x21, and t-lsbs*0x21 borrows out of those.
// x-lsbs borrows out of exactly the zero bytes of x, so (x-lsbs)&^x flags
// the bytes where w is '\\'. w itself has the high bit of the non-ASCII
// bytes, which also covers any result byte of 0x80 or more from a byte that
// did not borrow. A borrow also runs into the byte above and may flag it,
// but only above a real hit, so the lowest flag is always exact, and the
// lowest is all that is used.
func stopBytes(w uint64) uint64 {
	t := w ^ (lsbs * 0x02)
	x := w ^ (lsbs * '\\')
	return ((t - lsbs*0x21) | ((x - lsbs) &^ x) | w) & msbs
}

// scanString reads string contents starting just after the opening quote.
// It returns the index of the closing quote (-1 if the string is invalid)
// and the escaped and badUTF8 flags.
func scanString(line []byte, i int) (end int, flags uint8) {
	n := len(line)
	for {
		// Skip eight plain bytes at a time, up to the first byte stopBytes
		// flags.
		for i+8 <= n {
			if m := stopBytes(binary.LittleEndian.Uint64(line[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= n {
			return -1, flags
		}
		switch c := line[i]; {
		case c == '"':
			return i, flags
		case c == '\\':
			flags |= escaped
			if i = scanEscape(line, i+1); i < 0 {
				return -1, flags
			}
		case c < 0x20:
			return -1, flags
		case c >= utf8.RuneSelf:
			if flags&badUTF8 != 0 {
				i++
				break
			}
			r, size := utf8.DecodeRune(line[i:])
			if r == utf8.RuneError && size == 1 {
				flags |= badUTF8
			}
			i += size
		default:
			i++
		}
	}
}

// scanEscape checks the escape whose letter is at i and returns the index
// after it, or -1.
func scanEscape(line []byte, i int) int {
	if i >= len(line) {
		return -1
	}
	switch line[i] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return i + 1
	case 'u':
		if i+5 > len(line) {
			return -1
		}
		for _, h := range line[i+1 : i+5] {
			if !isHex(h) {
				return -1
			}
		}
		return i + 5
	}
	return -1
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanLiteral checks true, false or null at i and returns the index after it,
// or -1.
func scanLiteral(line []byte, i int) int {
	rest := line[i:]
	switch {
	case len(rest) >= 4 && (string(rest[:4]) == "true" || string(rest[:4]) == "null"):
		return i + 4
	case len(rest) >= 5 && string(rest[:5]) == "false":
		return i + 5
	}
	return -1
}

// scanNumber checks a JSON number at i and returns the index after it, or
// -1. What follows is the caller's to check.
func scanNumber[T string | []byte](line T, i int) int {
	n := len(line)
	if i < n && line[i] == '-' {
		i++
	}
	switch {
	case i >= n:
		return -1
	case line[i] == '0':
		i++
	case '1' <= line[i] && line[i] <= '9':
		i = skipDigits(line, i+1)
	default:
		return -1
	}
	if i < n && line[i] == '.' {
		i++
		if i >= n || !isDigit(line[i]) {
			return -1
		}
		i = skipDigits(line, i+1)
	}
	if i < n && (line[i] == 'e' || line[i] == 'E') {
		i++
		if i < n && (line[i] == '+' || line[i] == '-') {
			i++
		}
		if i >= n || !isDigit(line[i]) {
			return -1
		}
		i = skipDigits(line, i+1)
	}
	return i
}

// skipDigits returns the index of the first byte at or after i that is not
// an ASCII digit, testing eight bytes at a time while eight remain.
func skipDigits[T string | []byte](line T, i int) int {
	for i+8 <= len(line) {
		if m := nonDigits(load64(line, i)); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(line) && isDigit(line[i]) {
		i++
	}
	return i
}

// load64 reads the eight bytes at i as a little-endian word, as
// binary.LittleEndian.Uint64 does for a []byte; the compiler makes it one load.
func load64[T string | []byte](s T, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// nonDigits is non-zero in (the high nibble of) each byte of w that is not an
// ASCII digit. A digit has high nibble 3, and adding 6 to it keeps high
// nibble 3 ('9'+6 is 0x3f) where ':' to '?' (0x3a-0x3f) move on to 4. The
// addition carries into the next byte only out of bytes 0xfa-0xff, which the
// first test flags, so only bytes above a real hit can be misjudged and the
// lowest flag is always exact.
func nonDigits(w uint64) uint64 {
	const hi = 0xf0f0f0f0f0f0f0f0
	return (w&hi ^ lsbs*'0') | ((w+lsbs*6)&hi ^ lsbs*'0')
}

// IsNumber reports whether s is exactly one number in JSON syntax.
func IsNumber(s string) bool { return len(s) > 0 && scanNumber(s, 0) == len(s) }

// NumberEnd checks a JSON number at b[i] and returns the index after it,
// or -1. What follows is the caller's to check.
func NumberEnd(b []byte, i int) int { return scanNumber(b, i) }
