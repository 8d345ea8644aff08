package query

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"stele/internal/jsonstr"
)

type tokKind uint8

const (
	tEOF    tokKind = iota // end of the line, or a comment
	tIdent                 // [A-Za-z_][A-Za-z0-9_]*
	tQuoted                // a backquoted name; val holds it without the backquotes
	tString                // a JSON string; val holds it decoded
	tWord                  // a number-like word: 42, -1.5e3, 5m, 1h30m, 7d
	tPunct                 // an operator or punctuation; text holds it
)

type token struct {
	kind tokKind
	text string // as written
	val  string // decoded, for tString and tQuoted
	off  int    // byte offset in the line
}

func (t token) end() int { return t.off + len(t.text) }

// lexer splits one line into tokens on demand, so the first error in the
// line is the one reported.
type lexer struct {
	line   string // valid UTF-8, no newline
	lineNo int
	off    int
}

// pos returns the position of byte offset off of the line.
func (l *lexer) pos(off int) Pos {
	return Pos{Line: l.lineNo, Col: utf8.RuneCountInString(l.line[:off]) + 1}
}

func (l *lexer) errAt(off int, format string, args ...any) *SyntaxError {
	return ErrorAt(l.pos(off), format, args...)
}

func isIdentStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isIdentByte(c byte) bool { return isIdentStart(c) || '0' <= c && c <= '9' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// twoByteOps are tried before single bytes. ==, =~, && and || are not
// part of the language; they are lexed so the parser can suggest the fix.
var twoByteOps = []string{"!=", "<=", ">=", "==", "=~", "&&", "||"}

const oneByteOps = "=<>~(),.!*"

func (l *lexer) next() (token, *SyntaxError) {
	for l.off < len(l.line) && (l.line[l.off] == ' ' || l.line[l.off] == '\t') {
		l.off++
	}
	start := l.off
	if start == len(l.line) || l.line[start] == '#' {
		return token{kind: tEOF, off: start}, nil
	}
	c := l.line[start]
	switch {
	case isIdentStart(c):
		i := start + 1
		for i < len(l.line) && isIdentByte(l.line[i]) {
			i++
		}
		return l.emit(tIdent, i, ""), nil
	case c == '`':
		return l.scanQuoted()
	case c == '"':
		return l.scanString()
	case isDigit(c) || c == '-' && start+1 < len(l.line) && isDigit(l.line[start+1]):
		// A maximal run of what numbers and durations are made of; the
		// parser checks it against what it expects there.
		i := start + 1
		for i < len(l.line) {
			b := l.line[i]
			if isIdentByte(b) || b == '.' || (b == '+' || b == '-') && (l.line[i-1] == 'e' || l.line[i-1] == 'E') {
				i++
				continue
			}
			break
		}
		return l.emit(tWord, i, ""), nil
	case c == '\'':
		return token{}, l.errAt(start, `strings use double quotes: "..."`)
	}
	for _, op := range twoByteOps {
		if strings.HasPrefix(l.line[start:], op) {
			return l.emit(tPunct, start+2, ""), nil
		}
	}
	if strings.IndexByte(oneByteOps, c) >= 0 {
		return l.emit(tPunct, start+1, ""), nil
	}
	r, _ := utf8.DecodeRuneInString(l.line[start:])
	if unicode.IsLetter(r) {
		return token{}, l.errAt(start, "unexpected character %s; names with characters other than A-Z, a-z, 0-9 and _ go in backquotes, as in `%c`", strconv.QuoteRune(r), r)
	}
	return token{}, l.errAt(start, "unexpected character %s", strconv.QuoteRune(r))
}

func (l *lexer) emit(kind tokKind, end int, val string) token {
	t := token{kind: kind, text: l.line[l.off:end], val: val, off: l.off}
	l.off = end
	return t
}

func (l *lexer) scanQuoted() (token, *SyntaxError) {
	start := l.off
	n := strings.IndexByte(l.line[start+1:], '`')
	if n < 0 {
		return token{}, l.errAt(start, "unterminated backquoted name; end it with `")
	}
	name := l.line[start+1 : start+1+n]
	if name == "" {
		return token{}, l.errAt(start, "empty name in backquotes")
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 0x20 || name[i] == 0x7f {
			return token{}, l.errAt(start+1+i, "control character in a backquoted name")
		}
	}
	return l.emit(tQuoted, start+n+2, name), nil
}

// scanString reads a JSON string (RFC 8259 section 7).
func (l *lexer) scanString() (token, *SyntaxError) {
	start := l.off
	var b strings.Builder
	i := start + 1
	for {
		if i >= len(l.line) {
			return token{}, l.errAt(start, `unterminated string; end it with "`)
		}
		c := l.line[i]
		switch {
		case c == '"':
			return l.emit(tString, i+1, b.String()), nil
		case c < 0x20:
			return token{}, l.errAt(i, `control character in a string; write it as an escape such as \t`)
		case c != '\\':
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(l.line) {
			return token{}, l.errAt(start, `unterminated string; end it with "`)
		}
		switch e := l.line[i+1]; e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := jsonstr.Hex4(l.line[i+2:])
			if !ok {
				return token{}, l.errAt(i, `bad \u escape; want four hex digits, as in \u00e9`)
			}
			i += 4
			if utf16.IsSurrogate(r) {
				// A valid pair is one character; anything else becomes
				// U+FFFD, as encoding/json does.
				r2, ok := rune(-1), false
				if strings.HasPrefix(l.line[i+2:], `\u`) {
					r2, ok = jsonstr.Hex4(l.line[i+4:])
				}
				if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			b.WriteRune(r)
		default:
			return token{}, l.errAt(i, `bad escape in a string; JSON has \" \\ \/ \b \f \n \r \t \uXXXX`)
		}
		i += 2
	}
}

// Quote returns s for an error message: clipped to a few dozen characters
// and Go-quoted, so it is one line of printable text.
func Quote(s string) string {
	n := 0
	for i := range s {
		if n == maxEcho {
			return strconv.Quote(s[:i] + "...")
		}
		n++
	}
	return strconv.Quote(s)
}
