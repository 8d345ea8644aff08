package procstat

import (
	"os"
	"testing"
)

func TestReadSelf(t *testing.T) {
	u, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if u.RSSBytes <= 0 || u.Threads <= 0 || u.OpenFiles <= 0 {
		t.Fatalf("implausible sample %+v", u)
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Usage
		ok   bool
	}{
		{"plain", "42 (sh) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 100 2000000 10 18446744073709551615", Usage{RSSBytes: 40960, CPUMillis: 3000, Threads: 3}, true},
		{"hostile name", "42 (a) b) c 1 2) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 100 2000000 1 0", Usage{RSSBytes: 4096, CPUMillis: 30, Threads: 1}, true},
		{"truncated", "42 (sh) S 1 2 3", Usage{}, false},
		{"no name", "42 sh S", Usage{}, false},
		{"not numbers", "42 (sh) S 1 42 42 0 -1 4194560 100 0 0 0 x 50 0 0 20 0 3 0 100 2000000 10 0", Usage{}, false},
	}
	for _, tt := range tests {
		got, err := parseStat([]byte(tt.in), 4096)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v ok=%v", tt.name, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("42 (sh) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 100 2000000 10 0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseStat(b, 4096)
	})
}
