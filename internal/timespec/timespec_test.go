package timespec

import (
	"errors"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"90s", now.Add(-90 * time.Second).UnixNano(), false},
		{"15m", now.Add(-15 * time.Minute).UnixNano(), false},
		{"2h", now.Add(-2 * time.Hour).UnixNano(), false},
		{"7d", now.Add(-7 * 24 * time.Hour).UnixNano(), false},
		{"1h30m", now.Add(-90 * time.Minute).UnixNano(), false},
		{"2026-11-27T11:00:00Z", now.Add(-time.Hour).UnixNano(), false},
		{"2026-11-27T12:00:00.5+01:00", now.Add(-time.Hour + 500*time.Millisecond).UnixNano(), false},
		{"1700000000000000000", 1700000000000000000, false},
		{"0", 0, false},
		{"", 0, true},
		{"-5", 0, true},
		{"-5m", 0, true},
		{"0d", 0, true},
		{"1000000d", 0, true},
		{"yesterday", 0, true},
		{"1969-01-01T00:00:00Z", 0, true},
		{"2300-01-01T00:00:00Z", 0, true},
	} {
		got, err := Parse(tc.in, now)
		if tc.err {
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("Parse(%q) = %d, %v; want a syntax error", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}
