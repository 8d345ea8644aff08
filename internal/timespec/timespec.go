// Package timespec reads the times users give on command lines and in
// queries (DESIGN section 3.1): a duration back from now ("90s", "15m",
// "2h", "7d"), an RFC 3339 time, or integer nanoseconds since the Unix
// epoch.
package timespec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrSyntax is wrapped by every error of Parse.
var ErrSyntax = errors.New("timespec: want a duration back from now (90s, 15m, 2h, 7d), an RFC 3339 time or integer ns")

// maxDays bounds "Nd": about 270 years, so now minus it stays positive.
const maxDays = 100_000

// Parse returns the time s names, in ns since the Unix epoch.
func Parse(s string, now time.Time) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("%w: empty", ErrSyntax)
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("%w: %q is negative", ErrSyntax, s)
		}
		return n, nil
	}
	if d, ok := Duration(s); ok {
		return max(now.Add(-d).UnixNano(), 0), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		if t.Before(time.Unix(0, 0)) || t.After(time.Unix(0, 1<<63-1)) {
			return 0, fmt.Errorf("%w: %q is out of range", ErrSyntax, s)
		}
		return t.UnixNano(), nil
	}
	return 0, fmt.Errorf("%w: got %q", ErrSyntax, clip(s))
}

// Duration reads a positive duration: Go's syntax ("90s", "1h30m") or a
// whole number of days ("7d").
func Duration(s string) (time.Duration, bool) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > maxDays {
			return 0, false
		}
		return time.Duration(n) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, false
	}
	return d, true
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
