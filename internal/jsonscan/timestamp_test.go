package jsonscan

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestParseTimeNS(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"7", 7, true},
		{"1234567", 1234567, true},
		{"12345678", 12345678, true}, // exactly one word
		{"123456789", 123456789, true},
		{"1234567890123456", 1234567890123456, true}, // exactly two words
		{"12345678901234567", 12345678901234567, true},
		{"1767225600000000000", 1767225600000000000, true},
		{"9223372036854775807", 9223372036854775807, true}, // MaxInt64
		{"9223372036854775808", 0, false},
		{"9999999999999999999", 0, false}, // the largest 19 digits fit a uint64
		{"10000000000000000000", 0, false},
		{"123456789012345678901234567890", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"1e18", 0, false},
		{"1234567.", 0, false},  // non-digit ending the first word
		{"12345678.", 0, false}, // non-digit just after the first word
		{"1234567:9", 0, false}, // ':' follows '9'
		{"123456/89", 0, false}, // '/' precedes '0'
		{"1234567890123456e", 0, false},
		{"123456789012345E7", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseTimeNS([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseTimeNS(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestEightDigits puts every byte value at every position of a word of
// digits, so a mask or carry mistake in any lane shows; nonDigits must flag
// exactly that position as its lowest.
func TestEightDigits(t *testing.T) {
	for pos := range 8 {
		for c := range 256 {
			b := []byte("31415926")
			b[pos] = byte(c)
			want := '0' <= c && c <= '9'
			w := binary.LittleEndian.Uint64(b)
			if got := eightDigits(w); got != want {
				t.Errorf("eightDigits(%q) = %v, want %v", b, got, want)
			}
			if m := nonDigits(w); !want && bits.TrailingZeros64(m)>>3 != pos {
				t.Errorf("nonDigits(%q) = %#x: lowest flag not in byte %d", b, m, pos)
			}
		}
	}
	// Bytes that carry when 6 is added, below and above a digit.
	for _, s := range []string{"\xff1234567", "1234567\xff", "\xfa\xfa\xfa\xfa\xfa\xfa\xfa\xfa", "////////", "::::::::"} {
		if eightDigits(binary.LittleEndian.Uint64([]byte(s))) {
			t.Errorf("eightDigits(%q) = true", s)
		}
	}
}

func TestEightDigitsValue(t *testing.T) {
	check := func(s string) {
		t.Helper()
		want, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got := eightDigitsValue(binary.LittleEndian.Uint64([]byte(s))); got != want {
			t.Errorf("eightDigitsValue(%q) = %d, want %d", s, got, want)
		}
	}
	for d := '0'; d <= '9'; d++ {
		check(strings.Repeat(string(d), 8))
		for pos := range 8 {
			b := []byte("00000000")
			b[pos] = byte(d)
			check(string(b))
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 10000 {
		check(strconv.FormatUint(rng.Uint64N(1e8)+1e8, 10)[1:])
	}
}

// TestSkipDigits runs digit strings of every length up to three words, ended
// by every byte value, from every start offset, against a byte loop, for both
// instantiations.
func TestSkipDigits(t *testing.T) {
	for start := range 3 {
		for digits := range 25 {
			for c := range 257 { // 256: the digits run to the end of the line
				s := strings.Repeat("x", start) + strings.Repeat("7", digits)
				if c < 256 {
					s += string(byte(c)) + "123456789"
				}
				want := start
				for want < len(s) && '0' <= s[want] && s[want] <= '9' {
					want++
				}
				if got := skipDigits(s, start); got != want {
					t.Fatalf("skipDigits(%q, %d) = %d, want %d", s, start, got, want)
				}
				if got := skipDigits([]byte(s), start); got != want {
					t.Fatalf("skipDigits([]byte(%q), %d) = %d, want %d", s, start, got, want)
				}
			}
		}
	}
}
