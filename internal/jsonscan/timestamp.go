package jsonscan

import (
	"encoding/binary"
	"math"
	"time"
)

// parseTimeNS reads a time_ns value, already a valid JSON number. Only plain
// digits that fit an int64 count: a sign, fraction or exponent means the
// program did not print what the event format asks for.
func parseTimeNS(b []byte) (int64, bool) {
	// A valid JSON integer has no leading zeros, so more than 19 digits is
	// beyond int64, and 19 digits (below 1e19) fit a uint64 without overflow.
	if len(b) > 19 {
		return 0, false
	}
	var v uint64
	for len(b) >= 8 {
		w := binary.LittleEndian.Uint64(b)
		if !eightDigits(w) {
			return 0, false
		}
		v = v*1e8 + eightDigitsValue(w)
		b = b[8:]
	}
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// eightDigits reports whether all eight bytes of w are ASCII digits.
func eightDigits(w uint64) bool { return nonDigits(w) == 0 }

// eightDigitsValue is the number that eight ASCII digits spell, loaded little
// endian: the first, most significant digit is in the low byte. Each step
// merges pairs of neighbouring lanes into one twice as wide: the low lane
// (earlier digits) times ten to the number of digits in the high lane, plus
// the high lane shifted down onto it. Lanes stay below 100, 10^4 and 10^8,
// so no product or sum carries into the next lane.
func eightDigitsValue(w uint64) uint64 {
	w -= lsbs * '0'
	w = (w*10 + w>>8) & 0x00ff00ff00ff00ff
	w = (w*100 + w>>16) & 0x0000ffff0000ffff
	return (w*10000 + w>>32) & 0x00000000ffffffff
}

// Numeric timestamps below these magnitudes are read in the unit named; the
// package documentation explains the choice.
const (
	secondsBelowDigits = 11 // value < 1e11
	millisBelowDigits  = 14 // value < 1e14
	microsBelowDigits  = 17 // value < 1e17
)

// parseTimeNumber reads a Unix time from a valid JSON number, choosing the
// unit by magnitude, in exact decimal arithmetic truncated to nanoseconds.
func parseTimeNumber(b []byte) (int64, bool) {
	if len(b) == 0 || b[0] == '-' {
		return 0, false
	}
	// Split into integer digits, fraction digits and exponent.
	i := 0
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	intPart := b[:i]
	var frac []byte
	if i < len(b) && b[i] == '.' {
		j := i + 1
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		frac = b[i+1 : j]
		i = j
	}
	var exp int64
	if i < len(b) { // 'e' or 'E'
		i++
		neg := false
		if b[i] == '+' || b[i] == '-' {
			neg = b[i] == '-'
			i++
		}
		for ; i < len(b); i++ {
			if exp < maxExponent {
				exp = exp*10 + int64(b[i]-'0')
			}
		}
		if neg {
			exp = -exp
		}
	}

	// The value is the digit string intPart+frac, leading zeros dropped,
	// times 10^(exp-len(frac)).
	digit := func(k int) byte { // k-th digit of intPart+frac
		if k < len(intPart) {
			return intPart[k]
		}
		return frac[k-len(intPart)]
	}
	total := len(intPart) + len(frac)
	first := 0
	for first < total && digit(first) == '0' {
		first++
	}
	if first == total {
		return 0, true
	}
	// The value lies in [10^(order-1), 10^order).
	order := int64(total-first) + exp - int64(len(frac))
	var unitDigits int64
	switch {
	case order <= secondsBelowDigits:
		unitDigits = 9
	case order <= millisBelowDigits:
		unitDigits = 6
	case order <= microsBelowDigits:
		unitDigits = 3
	}
	// The nanosecond count has this many integer digits; an int64 has 19.
	nsDigits := order + unitDigits
	if nsDigits > 19 {
		return 0, false
	}
	var ns uint64
	for k := int64(0); k < nsDigits; k++ {
		d := uint64(0)
		if idx := int64(first) + k; idx < int64(total) {
			d = uint64(digit(int(idx)) - '0')
		}
		ns = ns*10 + d // at most 19 digits: cannot overflow a uint64
	}
	if ns > math.MaxInt64 {
		return 0, false
	}
	return int64(ns), true
}

// parseTimeString reads an RFC 3339 / ISO 8601 timestamp as described in the
// package documentation.
func parseTimeString(s []byte) (int64, bool) {
	// YYYY-MM-DDThh:mm:ss is the fixed-width part.
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	if t := s[10]; t != 'T' && t != 't' && t != ' ' {
		return 0, false
	}
	year, ok1 := digits(s[0:4], 0, 9999)
	month, ok2 := digits(s[5:7], 1, 12)
	day, ok3 := digits(s[8:10], 1, 31)
	hour, ok4 := digits(s[11:13], 0, 23)
	minute, ok5 := digits(s[14:16], 0, 59)
	sec, ok6 := digits(s[17:19], 0, 59)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || day > daysIn(month, year) {
		return 0, false
	}
	s = s[19:]

	var nsec int64
	if s[0] == '.' || s[0] == ',' {
		k := 1
		for ; k < len(s) && isDigit(s[k]); k++ {
			if k <= 9 {
				nsec = nsec*10 + int64(s[k]-'0')
			}
		}
		if k == 1 {
			return 0, false
		}
		for p := k; p <= 9; p++ { // scale short fractions up to nanoseconds
			nsec *= 10
		}
		s = s[k:]
	}

	var offset int64 // seconds east of UTC
	switch {
	case len(s) == 1 && (s[0] == 'Z' || s[0] == 'z'):
	case (len(s) == 6 && s[3] == ':' || len(s) == 5) && (s[0] == '+' || s[0] == '-'):
		oh, okh := digits(s[1:3], 0, 23)
		om, okm := digits(s[len(s)-2:], 0, 59)
		if !okh || !okm {
			return 0, false
		}
		offset = int64(oh*3600 + om*60)
		if s[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}

	unix := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC).Unix() - offset
	if unix < 0 || unix > (math.MaxInt64-nsec)/1e9 {
		return 0, false
	}
	return unix*1e9 + nsec, true
}

// digits reads a fixed-width decimal field and checks its range.
func digits(b []byte, lo, hi int) (int, bool) {
	v := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, lo <= v && v <= hi
}

// daysIn is the length of a month in the proleptic Gregorian calendar.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
