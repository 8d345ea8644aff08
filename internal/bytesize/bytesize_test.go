package bytesize

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"500MB", 500_000_000, true},
		{"1MB", 1_000_000, true},
		{"1MiB", 1 << 20, true},
		{"4096", 4096, true},
		{"1.5 KB", 1500, true},
		{"2gib", 2 << 30, true},
		{"0", 0, true},
		{"", 0, false},
		{"-1MB", 0, false},
		{"MB", 0, false},
		{"1XB", 0, false},
		{"NaN", 0, false},
		{"1e30TB", 0, false},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Parse(%q) = %d, %v; want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
