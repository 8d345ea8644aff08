package dremel

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"stele/internal/jsonstr"
)

// Kind is the JSON kind of a Value.
type Kind uint8

// The kinds of Value. KindRaw is compact JSON text kept verbatim: it is what
// a "json" leaf holds (see the package documentation).
const (
	KindNull Kind = iota
	KindBool
	KindString
	KindNumber
	KindObject
	KindArray
	KindRaw
)

// Value is a parsed JSON value. Objects keep their members in input order
// (after dropping all but the last of duplicate keys); numbers keep the text
// they were printed with.
type Value struct {
	Kind    Kind
	Bool    bool
	Str     string // KindString: the string; KindNumber: the literal; KindRaw: the JSON text
	Members []Member
	Elems   []Value
}

// Member is one key and value of a JSON object.
type Member struct {
	Key   string
	Value Value
}

// Errors of the JSON parser.
var (
	ErrSyntax   = errors.New("dremel: invalid JSON")
	ErrTooDeep  = errors.New("dremel: JSON nested too deeply")
	ErrNotEvent = errors.New("dremel: event is not a JSON object")
)

// SyntaxError is a JSON syntax error at a byte offset of the input.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("dremel: invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

// Unwrap lets errors.Is match ErrSyntax.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// ParseJSON parses one JSON value, surrounded by optional whitespace. Strings
// are unescaped; invalid UTF-8 is kept as is (and printed as U+FFFD, as
// encoding/json does).
func ParseJSON(s string) (Value, error) {
	var p Parser
	return p.ParseJSON(s)
}

// ParseEvent parses one event line: a JSON object.
func ParseEvent(s string) (Value, error) {
	var p Parser
	return p.ParseEvent(s)
}

// Parser parses JSON like ParseJSON, allocating the members and elements
// of many values together: values it returned share that memory, and stay
// valid.
type Parser struct {
	parser
}

// ParseJSON is like the function ParseJSON.
func (pp *Parser) ParseJSON(s string) (Value, error) {
	p := &pp.parser
	p.s, p.i = s, 0
	p.space()
	v, err := p.value(0)
	if err != nil {
		return Value{}, err
	}
	p.space()
	if p.i != len(p.s) {
		return Value{}, p.errf("trailing data")
	}
	return v, nil
}

// ParseEvent is like the function ParseEvent.
func (pp *Parser) ParseEvent(s string) (Value, error) {
	v, err := pp.ParseJSON(s)
	if err != nil {
		return Value{}, err
	}
	if v.Kind != KindObject {
		return Value{}, ErrNotEvent
	}
	return v, nil
}

type parser struct {
	s string
	i int

	// Members and elements are gathered on a stack, then copied into an
	// arena slice of exactly their length.
	mstack []Member
	estack []Value
	marena []Member
	earena []Value
}

// arenaChunk is how many members or elements an arena allocation holds.
const arenaChunk = 4096

func (p *parser) members(base int) []Member {
	ms := dedupe(p.mstack[base:])
	n := len(ms)
	if cap(p.marena)-len(p.marena) < n {
		p.marena = make([]Member, 0, max(n, arenaChunk))
	}
	k := len(p.marena)
	p.marena = append(p.marena, ms...)
	clear(p.mstack[base:])
	p.mstack = p.mstack[:base]
	return p.marena[k : k+n : k+n]
}

func (p *parser) elems(base int) []Value {
	n := len(p.estack) - base
	if cap(p.earena)-len(p.earena) < n {
		p.earena = make([]Value, 0, max(n, arenaChunk))
	}
	k := len(p.earena)
	p.earena = append(p.earena, p.estack[base:]...)
	clear(p.estack[base:])
	p.estack = p.estack[:base]
	return p.earena[k : k+n : k+n]
}

func (p *parser) errf(format string, args ...any) error {
	return &SyntaxError{Offset: p.i, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (Value, error) {
	if depth >= MaxJSONDepth {
		return Value{}, ErrTooDeep
	}
	if p.i >= len(p.s) {
		return Value{}, p.errf("unexpected end of input")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.str()
		return Value{Kind: KindString, Str: s}, err
	case c == '-' || (c >= '0' && c <= '9'):
		n, err := p.number()
		return Value{Kind: KindNumber, Str: n}, err
	case c == 't':
		return Value{Kind: KindBool, Bool: true}, p.literal("true")
	case c == 'f':
		return Value{Kind: KindBool}, p.literal("false")
	case c == 'n':
		return Value{Kind: KindNull}, p.literal("null")
	default:
		return Value{}, p.errf("unexpected character %q", c)
	}
}

func (p *parser) literal(word string) error {
	if len(p.s)-p.i < len(word) || p.s[p.i:p.i+len(word)] != word {
		return p.errf("invalid literal")
	}
	p.i += len(word)
	return nil
}

func (p *parser) object(depth int) (Value, error) {
	p.i++ // '{'
	v := Value{Kind: KindObject}
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return v, nil
	}
	base := len(p.mstack)
	defer func() { p.mstack = p.mstack[:base] }()
	for {
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return Value{}, p.errf("expected object key")
		}
		k, err := p.str()
		if err != nil {
			return Value{}, err
		}
		k = validKey(k)
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return Value{}, p.errf("expected ':'")
		}
		p.i++
		p.space()
		e, err := p.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		p.mstack = append(p.mstack, Member{Key: k, Value: e})
		p.space()
		if p.i >= len(p.s) {
			return Value{}, p.errf("unexpected end of input in object")
		}
		if p.s[p.i] == '}' {
			p.i++
			v.Members = p.members(base)
			return v, nil
		}
		if p.s[p.i] != ',' {
			return Value{}, p.errf("expected ',' or '}'")
		}
		p.i++
	}
}

// validKey returns k with each byte of invalid UTF-8 replaced by U+FFFD,
// as printing would show it. Keys that differ only there are then the same
// key, and the last of them wins as for any repeated key; kept apart, they
// would print as two equal keys, and the record would not read back the
// same (package dedup relies on it reading back the same).
func validKey(k string) string {
	if utf8.ValidString(k) {
		return k
	}
	var b strings.Builder
	for i := 0; i < len(k); {
		r, size := utf8.DecodeRuneInString(k[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(k[i : i+size])
		}
		i += size
	}
	return b.String()
}

// dedupe keeps the last value of a repeated key, in the position of that
// last occurrence, as encoding/json does when decoding into a map.
func dedupe(ms []Member) []Member {
	if len(ms) < 2 {
		return ms
	}
	dup := false
	if len(ms) <= 16 {
		for i := range ms {
			for j := i + 1; j < len(ms); j++ {
				if ms[i].Key == ms[j].Key {
					dup = true
				}
			}
		}
	} else {
		seen := make(map[string]bool, len(ms))
		for _, m := range ms {
			dup = dup || seen[m.Key]
			seen[m.Key] = true
		}
	}
	if !dup {
		return ms
	}
	last := make(map[string]int, len(ms))
	for i, m := range ms {
		last[m.Key] = i
	}
	out := ms[:0:0]
	for i, m := range ms {
		if last[m.Key] == i {
			out = append(out, m)
		}
	}
	return out
}

func (p *parser) array(depth int) (Value, error) {
	p.i++ // '['
	v := Value{Kind: KindArray}
	p.space()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return v, nil
	}
	base := len(p.estack)
	defer func() { p.estack = p.estack[:base] }()
	for {
		p.space()
		e, err := p.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		p.estack = append(p.estack, e)
		p.space()
		if p.i >= len(p.s) {
			return Value{}, p.errf("unexpected end of input in array")
		}
		if p.s[p.i] == ']' {
			p.i++
			v.Elems = p.elems(base)
			return v, nil
		}
		if p.s[p.i] != ',' {
			return Value{}, p.errf("expected ',' or ']'")
		}
		p.i++
	}
}

func (p *parser) number() (string, error) {
	start := p.i
	if p.s[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.s) && p.s[p.i] == '0':
		p.i++
	case p.i < len(p.s) && p.s[p.i] >= '1' && p.s[p.i] <= '9':
		p.digits()
	default:
		return "", p.errf("invalid number")
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if p.digits() == 0 {
			return "", p.errf("invalid number")
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if p.digits() == 0 {
			return "", p.errf("invalid number")
		}
	}
	return p.s[start:p.i], nil
}

func (p *parser) digits() int {
	n := 0
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}

// str parses a string starting at the opening quote. Without escapes the
// result shares memory with the input.
func (p *parser) str() (string, error) {
	p.i++ // '"'
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '"' {
			s := p.s[start:p.i]
			p.i++
			return s, nil
		}
		if c == '\\' {
			return p.strEscaped(start)
		}
		if c < 0x20 {
			return "", p.errf("control character in string")
		}
		p.i++
	}
	return "", p.errf("unterminated string")
}

func (p *parser) strEscaped(start int) (string, error) {
	b := []byte(p.s[start:p.i])
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return string(b), nil
		case c < 0x20:
			return "", p.errf("control character in string")
		case c != '\\':
			b = append(b, c)
			p.i++
			continue
		}
		p.i++ // '\\'
		if p.i >= len(p.s) {
			break
		}
		e := p.s[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.errf("invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				// A valid pair makes one rune; anything else is U+FFFD,
				// as in encoding/json.
				save := p.i
				if p.i+1 < len(p.s) && p.s[p.i] == '\\' && p.s[p.i+1] == 'u' {
					p.i += 2
					if r2, ok := p.hex4(); ok {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							b = utf8.AppendRune(b, d)
							continue
						}
					}
				}
				p.i = save
				r = utf8.RuneError
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", p.errf("invalid escape")
		}
	}
	return "", p.errf("unterminated string")
}

// hex4 reads the four hex digits of a \u escape at p.i and moves past
// them.
func (p *parser) hex4() (rune, bool) {
	r, ok := jsonstr.Hex4(p.s[p.i:])
	if ok {
		p.i += 4
	}
	return r, ok
}

// AppendJSON appends the compact JSON text of v to dst.
func AppendJSON(dst []byte, v Value) []byte {
	switch v.Kind {
	case KindNull:
		return append(dst, "null"...)
	case KindBool:
		return strconv.AppendBool(dst, v.Bool)
	case KindString:
		return AppendString(dst, v.Str)
	case KindNumber, KindRaw:
		return append(dst, v.Str...)
	case KindObject:
		dst = append(dst, '{')
		for i, m := range v.Members {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, m.Key)
			dst = append(dst, ':')
			dst = AppendJSON(dst, m.Value)
		}
		return append(dst, '}')
	case KindArray:
		dst = append(dst, '[')
		for i, e := range v.Elems {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendJSON(dst, e)
		}
		return append(dst, ']')
	}
	panic("dremel: internal error: unknown value kind")
}

// AppendString appends s as a JSON string; see jsonstr.Append.
func AppendString(dst []byte, s string) []byte { return jsonstr.Append(dst, s) }

// canonicalInt reports whether the number literal s is an integer printed
// the way strconv.FormatInt prints it, and returns its value.
func canonicalInt(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	body := s
	if body[0] == '-' {
		body = body[1:]
	}
	if len(body) == 0 || (body[0] == '0' && (len(body) > 1 || s[0] == '-')) {
		return 0, false
	}
	if len(body) > 19 {
		return 0, false // 20 digits are past 2⁶³
	}
	// Cannot overflow: 19 digits stay below 2⁶⁴.
	var u uint64
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	if s[0] == '-' {
		if u > 1<<63 {
			return 0, false
		}
		return int64(-u), true // -2⁶³ wraps to itself
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}
