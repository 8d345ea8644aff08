package eventgen

import (
	"strconv"
	"strings"
)

// text is a message template with numeric holes, parsed once so that
// filling it in is a handful of appends. Verbs: %d a decimal in [lo, hi],
// %x the same in hex, %% a percent sign, %p a Zipf-skewed project number (so "Quota exceeded
// for project N" has a few loud projects, as in life).
type text struct {
	segs  []string // len(segs) == len(holes)+1
	holes []hole
}

type hole struct {
	verb     byte
	lo, span uint64
}

// mkText parses format; bounds holds an inclusive lo, hi pair for each %d
// and %x in order. It panics on a mismatch, which only a broken table in
// this package can cause.
func mkText(format string, bounds ...uint64) text {
	var t text
	var seg strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			seg.WriteByte(format[i])
			continue
		}
		i++
		if i == len(format) {
			panic("eventgen: internal error: trailing % in " + format)
		}
		h := hole{verb: format[i]}
		switch h.verb {
		case '%':
			seg.WriteByte('%')
			continue
		case 'd', 'x':
			if len(bounds) < 2 || bounds[1] < bounds[0] {
				panic("eventgen: internal error: bad bounds for " + format)
			}
			h.lo, h.span = bounds[0], bounds[1]-bounds[0]+1
			bounds = bounds[2:]
		case 'p':
		default:
			panic("eventgen: internal error: bad verb in " + format)
		}
		t.segs = append(t.segs, seg.String())
		t.holes = append(t.holes, h)
		seg.Reset()
	}
	if len(bounds) != 0 {
		panic("eventgen: internal error: unused bounds for " + format)
	}
	t.segs = append(t.segs, seg.String())
	return t
}

func (t *text) append(dst []byte, s *source) []byte {
	for i, h := range t.holes {
		dst = append(dst, t.segs[i]...)
		switch h.verb {
		case 'd':
			dst = strconv.AppendUint(dst, h.lo+s.intn(h.span), 10)
		case 'x':
			dst = strconv.AppendUint(dst, h.lo+s.intn(h.span), 16)
		case 'p':
			dst = appendProject(dst, s)
		}
	}
	return append(dst, t.segs[len(t.segs)-1]...)
}

// appendHex16 appends v as exactly 16 lower-case hex digits.
func appendHex16(dst []byte, v uint64) []byte {
	const digits = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		dst = append(dst, digits[v>>uint(shift)&0xf])
	}
	return dst
}
