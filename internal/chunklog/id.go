package chunklog

import (
	"errors"
	"time"
)

// idAlphabet is in ASCII order so that ids sort as their numbers do. Part of
// the format; never change.
const idAlphabet = "123456789CDFGHJKLMNPQRTVWXZ"

var errBadID = errors.New("chunklog: malformed chunk id")

// ValidID reports whether s matches [123456789CDFGHJKLMNPQRTVWXZ]{1,16}, the
// id syntax of the HTTP API.
func ValidID(s string) bool {
	if len(s) < 1 || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if digitValue(s[i]) < 0 {
			return false
		}
	}
	return true
}

func digitValue(c byte) int {
	// A linear scan of 27 bytes is fast enough for ids and easy to audit.
	for i := 0; i < len(idAlphabet); i++ {
		if idAlphabet[i] == c {
			return i
		}
	}
	return -1
}

// formatID renders n as idDigits base-27 digits.
func formatID(n uint64) string {
	var b [idDigits]byte
	for i := idDigits - 1; i >= 0; i-- {
		b[i] = idAlphabet[n%27]
		n /= 27
	}
	return string(b[:])
}

// parseID is the inverse of formatID; it accepts only ids this package makes.
func parseID(s string) (uint64, error) {
	if len(s) != idDigits {
		return 0, errBadID
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		v := digitValue(s[i])
		if v < 0 {
			return 0, errBadID
		}
		n = n*27 + uint64(v)
	}
	return n, nil
}

// NextID returns the id for a chunk started at now after the chunk prev
// ("" if none): now in microseconds, or one more than prev if the clock is
// behind it. The store names the chunks of its own events so.
func NextID(prev string, now time.Time) string {
	n := uint64(max(now.UnixMicro(), 0))
	if p, err := parseID(prev); err == nil && n <= p {
		n = p + 1
	}
	return formatID(n)
}

// IDTime returns the wall-clock time an id of this package encodes: the
// microsecond its chunk was opened, or later if the clock had gone back
// (ids never repeat). ok is false for ids this package does not make.
func IDTime(id string) (t time.Time, ok bool) {
	n, err := parseID(id)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMicro(int64(n)), true // 27^12 < 2^63
}
