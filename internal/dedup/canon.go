package dedup

import (
	"encoding/binary"
	"math"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/zeebo/xxh3"

	"stele/internal/dremel"
	"stele/internal/jsonstr"
)

// Seeds keep the kinds of hash apart. Identities are never written down
// (the index is rebuilt from stored records), so these may change with a
// release, as long as KeyOf and KeyOfStored change together.
const (
	seedMember    = 0x6d656d6265720001 // a member's canonical text
	seedObject    = 0x6f626a6563740002 // the sum of an object's member hashes
	seedRawLine   = 0x7261776c696e0003 // source, NUL and the bytes of a line that is not an object
	seedRawStored = 0x72617773746f0004 // the bytes of a stored record that is not an object
)

// keyOf computes the identity of line; withSource says whether to add the
// member "_source": source, replacing one the line has.
func keyOf(source string, line []byte, withSource bool) Key {
	var scratch [scratchBytes]byte
	s := scanner{in: line, buf: scratch[:0]}
	s.space()
	if s.i < len(line) && line[s.i] == '{' && len(line) <= math.MaxUint32 {
		lo, hi, ok := s.object(0, withSource)
		if ok {
			s.space()
			ok = s.i == len(line)
		}
		if ok && s.full {
			ok, s.slow = false, true
		}
		if ok {
			if withSource {
				m := sourceMember(scratch[:0], source)
				lo, hi = lo+m.Lo, hi+m.Hi
			}
			return objectHash(lo, hi).Bytes()
		}
		if s.slow {
			if k, ok := slowKey(source, line, withSource); ok {
				return k
			}
		}
	}
	return rawKey(source, line, withSource)
}

// objectHash finishes an object's hash from the sum of its member hashes.
func objectHash(lo, hi uint64) xxh3.Uint128 {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], lo)
	binary.LittleEndian.PutUint64(b[8:], hi)
	return xxh3.Hash128Seed(b[:], seedObject)
}

// objectText returns an object's canonical text, '{' and its hash, in b.
func objectText(b *[17]byte, lo, hi uint64) []byte {
	h := objectHash(lo, hi)
	b[0] = '{'
	binary.LittleEndian.PutUint64(b[1:], h.Lo)
	binary.LittleEndian.PutUint64(b[9:], h.Hi)
	return b[:]
}

// replacement is U+FFFD, which stands for each byte of invalid UTF-8.
var replacement = []byte(string(utf8.RuneError))

// sourceMember hashes the member "_source": source, using buf as scratch.
func sourceMember(buf []byte, source string) xxh3.Uint128 {
	buf = append(buf, `"_source":`...)
	buf = appendCanonString(buf, source)
	return xxh3.Hash128Seed(buf, seedMember)
}

// rawKey is the byte-based identity of a line that is not a JSON object.
func rawKey(source string, line []byte, withSource bool) Key {
	var h xxh3.Hasher128
	if withSource {
		h.ResetSeed(seedRawLine)
		h.WriteString(source)
		h.Write([]byte{0}) // source names cannot contain NUL, so this separates
	} else {
		h.ResetSeed(seedRawStored)
	}
	h.Write(trim(line))
	return h.Sum128().Bytes()
}

// scanner hashes a JSON object in one pass over its bytes, without
// building it. A member's canonical text is kept as a run of input bytes
// for as long as the input spells it canonically, and copied to buf only
// from where it does not (whitespace, an escape, a nested object); for
// compact logs the input is hashed in place.
type scanner struct {
	in []byte
	i  int
	// The canonical text of the member being hashed is buf[base:] (base:
	// len(buf) when the member began) followed by in[from:i]. buf is a
	// stack array that is never appended to, only resliced, so that it
	// stays on the stack; full says it overflowed, and the line takes the
	// slow path.
	from int
	buf  []byte
	full bool
	// keys holds the keys (with quotes, as input offsets) of the objects
	// being scanned, to find duplicates.
	keys  [maxOpenKeys]span
	nkeys int
	// slow: the line may be valid, but the fast path cannot hash it
	// (a duplicate or escaped key, or too many keys).
	slow bool
}

type span struct{ start, end uint32 }

// put appends b to buf, or marks it full.
func (s *scanner) put(b []byte) {
	n := len(s.buf)
	if len(b) > cap(s.buf)-n {
		s.full = true
		return
	}
	s.buf = s.buf[:n+len(b)]
	copy(s.buf[n:], b)
}

// commit moves the pending run in[from:i] to buf.
func (s *scanner) commit() { s.put(s.in[s.from:s.i]) }

func (s *scanner) space() {
	for s.i < len(s.in) && isSpace(s.in[s.i]) {
		s.i++
	}
}

// gap skips whitespace inside a member, which canonical text leaves out.
func (s *scanner) gap() {
	if s.i < len(s.in) && isSpace(s.in[s.i]) {
		s.commit()
		s.space()
		s.from = s.i
	}
}

// object scans the object at s.i and returns the sum of its member hashes,
// leaving out a member "_source" if dropSource.
func (s *scanner) object(depth int, dropSource bool) (lo, hi uint64, ok bool) {
	s.i++ // '{'
	s.space()
	if s.i < len(s.in) && s.in[s.i] == '}' {
		s.i++
		return 0, 0, true
	}
	first := s.nkeys
	for {
		s.space()
		if s.i >= len(s.in) || s.in[s.i] != '"' {
			return 0, 0, false
		}
		base, start := len(s.buf), s.i
		s.from = start
		if !s.str() {
			return 0, 0, false
		}
		if len(s.buf) != base || s.nkeys-first >= maxFastKeys || s.nkeys == maxOpenKeys {
			s.slow = true // an escaped key, or more keys than pairwise checks suit
			return 0, 0, false
		}
		key := s.in[start:s.i]
		for _, k := range s.keys[first:s.nkeys] {
			// Lengths and second-to-last bytes first: keys differ cheaply.
			if int(k.end-k.start) == len(key) && s.in[k.end-2] == key[len(key)-2] &&
				string(s.in[k.start:k.end]) == string(key) {
				s.slow = true // a duplicate: the last value wins
				return 0, 0, false
			}
		}
		s.keys[s.nkeys] = span{uint32(start), uint32(s.i)}
		s.nkeys++
		s.gap()
		if s.i >= len(s.in) || s.in[s.i] != ':' {
			return 0, 0, false
		}
		s.i++
		s.gap()
		if !s.value(depth + 1) {
			return 0, 0, false
		}
		var m xxh3.Uint128
		if len(s.buf) == base {
			m = xxh3.Hash128Seed(s.in[s.from:s.i], seedMember)
		} else {
			s.commit()
			m = xxh3.Hash128Seed(s.buf[base:], seedMember)
			s.buf = s.buf[:base]
		}
		if !dropSource || string(key) != `"_source"` {
			lo, hi = lo+m.Lo, hi+m.Hi
		}
		s.space()
		if s.i >= len(s.in) {
			return 0, 0, false
		}
		switch s.in[s.i] {
		case '}':
			s.i++
			s.nkeys = first
			return lo, hi, true
		case ',':
			s.i++
		default:
			return 0, 0, false
		}
	}
}

// value scans the value at s.i as part of the current member's text.
func (s *scanner) value(depth int) bool {
	if depth >= maxDepth || s.i >= len(s.in) {
		return false
	}
	switch c := s.in[s.i]; {
	case c == '"':
		return s.str()
	case c == '{':
		s.commit()
		lo, hi, ok := s.object(depth, false)
		if !ok {
			return false
		}
		var b [17]byte
		s.put(objectText(&b, lo, hi))
		s.from = s.i
		return true
	case c == '[':
		return s.array(depth)
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	}
	return false
}

func (s *scanner) literal(word string) bool {
	if len(s.in)-s.i < len(word) || string(s.in[s.i:s.i+len(word)]) != word {
		return false
	}
	s.i += len(word)
	return true
}

func (s *scanner) array(depth int) bool {
	s.i++ // '['
	s.gap()
	if s.i < len(s.in) && s.in[s.i] == ']' {
		s.i++
		return true
	}
	for {
		if !s.value(depth + 1) {
			return false
		}
		s.gap()
		if s.i >= len(s.in) {
			return false
		}
		switch s.in[s.i] {
		case ']':
			s.i++
			return true
		case ',':
			s.i++
			s.gap()
		default:
			return false
		}
	}
}

// number scans a number with dremel's grammar; its text is canonical.
func (s *scanner) number() bool {
	in, i := s.in, s.i
	if in[i] == '-' {
		i++
	}
	switch {
	case i < len(in) && in[i] == '0':
		i++
	case i < len(in) && in[i] >= '1' && in[i] <= '9':
		i = digits(in, i)
	default:
		return false
	}
	if i < len(in) && in[i] == '.' {
		j := digits(in, i+1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(in) && (in[i] == 'e' || in[i] == 'E') {
		i++
		if i < len(in) && (in[i] == '+' || in[i] == '-') {
			i++
		}
		j := digits(in, i)
		if j == i {
			return false
		}
		i = j
	}
	s.i = i
	return true
}

func digits(in []byte, i int) int {
	for i < len(in) && in[i] >= '0' && in[i] <= '9' {
		i++
	}
	return i
}

// Word-at-a-time masks for str: the high bit of each byte of a word.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special flags, in the high bit of each byte, the bytes of x that a string
// scan must look at: '"', '\\', controls, and non-ASCII. Only the lowest
// flag is exact, which is the one str uses.
func special(x uint64) uint64 {
	q := x ^ (ones * '"')
	b := x ^ (ones * '\\')
	return ((q - ones) & ^q) | ((b - ones) & ^b) | ((x - ones*0x20) & ^x) | x
}

// str scans the string at s.i. Its canonical text is its content between
// quotes, with '"' and '\\' escaped, every other character as itself, and
// each byte of invalid UTF-8 as U+FFFD (as dremel prints it).
func (s *scanner) str() bool {
	in := s.in
	i := s.i + 1
	for {
		for i+8 <= len(in) {
			x := binary.LittleEndian.Uint64(in[i:])
			if m := special(x) & highs; m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(in) {
			return false
		}
		switch c := in[i]; {
		case c == '"':
			s.i = i + 1
			return true
		case c == '\\':
			var ok bool
			if i, ok = s.escape(i); !ok {
				return false
			}
		case c < 0x20:
			return false
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(in[i:])
			if r == utf8.RuneError && size == 1 {
				s.i = i
				s.commit()
				s.put(replacement)
				s.from = i + 1
			}
			i += size
		}
	}
}

// escape handles the escape at in[i] and returns where the string goes on.
func (s *scanner) escape(i int) (int, bool) {
	in := s.in
	if i+1 >= len(in) {
		return 0, false
	}
	var c byte
	switch e := in[i+1]; e {
	case '"', '\\':
		return i + 2, true // already canonical
	case '/':
		c = '/'
	case 'b':
		c = '\b'
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'u':
		r, ok := jsonstr.Hex4(in[i+2:])
		if !ok {
			return 0, false
		}
		j := i + 6
		if utf16.IsSurrogate(r) {
			// A valid pair makes one rune; anything else is U+FFFD and
			// leaves what follows to be read again, as dremel does.
			d := utf8.RuneError
			if j+1 < len(in) && in[j] == '\\' && in[j+1] == 'u' {
				if r2, ok := jsonstr.Hex4(in[j+2:]); ok {
					if p := utf16.DecodeRune(r, r2); p != utf8.RuneError {
						d, j = p, j+6
					}
				}
			}
			r = d
		}
		s.i = i
		s.commit()
		var b [utf8.UTFMax]byte
		s.put(appendRune(b[:0], r))
		s.from = j
		return j, true
	default:
		return 0, false
	}
	s.i = i
	s.commit()
	s.put([]byte{c})
	s.from = i + 2
	return i + 2, true
}

// appendRune appends r as canonical string content.
func appendRune(buf []byte, r rune) []byte {
	if r == '"' || r == '\\' {
		return append(buf, '\\', byte(r))
	}
	return utf8.AppendRune(buf, r)
}

// appendCanonString appends the canonical text of the string s (see str).
func appendCanonString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c == '"' || c == '\\' {
				buf = append(buf, '\\')
			}
			buf = append(buf, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, string(utf8.RuneError)...)
		} else {
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return append(buf, '"')
}

// slowKey hashes line through dremel's parser, which keeps the last of
// duplicate keys; the hashes are the scanner's. It reports false if the
// line is not a JSON object.
func slowKey(source string, line []byte, withSource bool) (Key, bool) {
	v, err := dremel.ParseEvent(string(line))
	if err != nil {
		return Key{}, false
	}
	var t tree
	lo, hi := t.members(v.Members, withSource)
	if withSource {
		m := sourceMember(t.buf[:0], source)
		lo, hi = lo+m.Lo, hi+m.Hi
	}
	return objectHash(lo, hi).Bytes(), true
}

// tree hashes parsed values as the scanner hashes their text.
type tree struct{ buf []byte }

func (t *tree) members(ms []dremel.Member, dropSource bool) (lo, hi uint64) {
	for _, m := range ms {
		if dropSource && m.Key == "_source" {
			continue
		}
		base := len(t.buf)
		t.buf = appendCanonString(t.buf, m.Key)
		t.buf = append(t.buf, ':')
		t.value(m.Value)
		h := xxh3.Hash128Seed(t.buf[base:], seedMember)
		t.buf = t.buf[:base]
		lo, hi = lo+h.Lo, hi+h.Hi
	}
	return lo, hi
}

func (t *tree) value(v dremel.Value) {
	switch v.Kind {
	case dremel.KindNull:
		t.buf = append(t.buf, "null"...)
	case dremel.KindBool:
		if v.Bool {
			t.buf = append(t.buf, "true"...)
		} else {
			t.buf = append(t.buf, "false"...)
		}
	case dremel.KindString:
		t.buf = appendCanonString(t.buf, v.Str)
	case dremel.KindNumber:
		t.buf = append(t.buf, v.Str...)
	case dremel.KindObject:
		lo, hi := t.members(v.Members, false)
		var b [17]byte
		t.buf = append(t.buf, objectText(&b, lo, hi)...)
	case dremel.KindArray:
		t.buf = append(t.buf, '[')
		for i, e := range v.Elems {
			if i > 0 {
				t.buf = append(t.buf, ',')
			}
			t.value(e)
		}
		t.buf = append(t.buf, ']')
	default:
		// The parser makes no other kind (KindRaw comes from assembly).
		panic("dedup: internal error: unexpected value kind")
	}
}
