package render

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// appendVisible appends s with everything that could act on a terminal
// instead of being shown replaced by a visible escape: C0 and C1 control
// characters and DEL (so no ANSI escape sequence survives) as \n, \r, \t or
// \xNN; Unicode line separators and bidirectional controls (which reorder
// the text shown) as \uNNNN; and each byte of invalid UTF-8 as \xNN. A
// backslash itself stays as it is: the output is for reading, not for
// decoding (ndjson is the exact format). keepLines keeps \n, \r and \t,
// which csv quotes.
func appendVisible(dst []byte, s string, keepLines bool) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c >= 0x20 && c != 0x7f:
				dst = append(dst, c)
			case keepLines && (c == '\n' || c == '\r' || c == '\t'):
				dst = append(dst, c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		case hidden(r):
			dst = append(dst, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

// hidden reports runes that control the terminal or the order and lines of
// the text shown rather than showing as a character.
func hidden(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f: // C1 controls, including the 8-bit CSI
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f: // bidi marks
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // bidi embeddings, overrides, isolates
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	}
	return false
}

// visible is appendVisible for a whole string.
func visible(s string, keepLines bool) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return string(appendVisible(make([]byte, 0, len(s)+8), s, keepLines))
		}
	}
	return s
}
