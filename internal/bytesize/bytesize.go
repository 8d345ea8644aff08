// Package bytesize parses and prints byte counts as the command lines write
// them: "500MB", "1MiB", "4096".
package bytesize

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

var errSyntax = errors.New("bytesize: want a number with an optional unit: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB")

var units = []struct {
	suffix string
	mult   int64
}{
	// Longest suffixes first, so "MiB" is not read as "B".
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12},
	{"B", 1},
}

// Parse reads a non-negative byte count. Decimal units are powers of 1000,
// binary ones (KiB...) powers of 1024; units are case-insensitive.
func Parse(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range units {
		if len(t) > len(u.suffix) && strings.EqualFold(t[len(t)-len(u.suffix):], u.suffix) {
			mult = u.mult
			t = strings.TrimSpace(t[:len(t)-len(u.suffix)])
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n < 0 || math.IsNaN(n) || math.IsInf(n, 0) {
		return 0, fmt.Errorf("%w: %q", errSyntax, s)
	}
	v := n * float64(mult)
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("bytesize: %q is too large", s)
	}
	return int64(v), nil
}

// Value is a flag.Value holding a byte count.
type Value int64

func (v *Value) String() string { return strconv.FormatInt(int64(*v), 10) }

// Set parses s into v.
func (v *Value) Set(s string) error {
	n, err := Parse(s)
	if err != nil {
		return err
	}
	*v = Value(n)
	return nil
}
