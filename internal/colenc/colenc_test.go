package colenc

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"stele/internal/goldenfile"
)

// TestParquetVectors checks the byte vectors of the Parquet specification
// (Encodings.md, "Run Length Encoding / Bit-Packing Hybrid").
func TestParquetVectors(t *testing.T) {
	tests := []struct {
		name  string
		w     int
		vals  []uint32
		bytes []byte
	}{
		// The spec's bit-packing example: 0..7 with width 3 packs into
		// 10001000 11000110 11111010; the run header is 1 group << 1 | 1.
		{"spec packing example", 3, []uint32{0, 1, 2, 3, 4, 5, 6, 7}, []byte{0x03, 0x88, 0xc6, 0xfa}},
		// rle-run header count << 1, value in ceil(w/8) bytes.
		{"50 ones then 50 zeros", 1, append(rep(1, 50), rep(0, 50)...), []byte{0x64, 0x01, 0x64, 0x00}},
		// Values wider than a byte: 2 bytes of value in an rle-run.
		{"rle width 9", 9, rep(300, 10), []byte{0x14, 0x2c, 0x01}},
		// Varint headers: 200 << 1 = 400 = 0x90 0x03.
		{"long run", 2, rep(3, 200), []byte{0x90, 0x03, 0x03}},
	}
	for _, tt := range tests {
		if got := AppendHybrid(nil, tt.vals, tt.w); !bytes.Equal(got, tt.bytes) {
			t.Errorf("%s: encoded % x, want % x", tt.name, got, tt.bytes)
		}
		got, err := DecodeHybrid(nil, tt.bytes, tt.w, len(tt.vals))
		if err != nil || !reflect.DeepEqual(got, tt.vals) {
			t.Errorf("%s: decoded %v, %v; want %v", tt.name, got, err, tt.vals)
		}
	}
}

func rep(v uint32, n int) []uint32 {
	out := make([]uint32, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestHybridRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for range 500 {
		w := r.IntN(33)
		n := r.IntN(300)
		vals := make([]uint32, n)
		for i := range vals {
			if r.IntN(3) == 0 && i > 0 {
				vals[i] = vals[i-1]
				continue
			}
			vals[i] = uint32(r.Uint64() & (1<<w - 1))
		}
		enc := AppendHybrid(nil, vals, w)
		got, err := DecodeHybrid(nil, enc, w, n)
		if err != nil || !reflect.DeepEqual(got, vals) && n > 0 {
			t.Fatalf("w=%d %v: got %v, %v", w, vals, got, err)
		}
	}
}

var intCases = []struct {
	name string
	vals []int64
}{
	{"const", []int64{7, 7, 7, 7}},
	{"small range", []int64{100, 103, 101, 102, 100}},
	{"timestamps with a common divisor", []int64{1767225600000000000, 1767225600003000000, 1767225600005000000, 1767225600011000000}},
	{"delta timestamps", func() []int64 {
		v := make([]int64, 32)
		for i := range v {
			v[i] = 1767225600000000000 + int64(i*i%7+3*i)*1000000
		}
		return v
	}()},
	{"low cardinality", []int64{200, 200, 404, 200, 200, 200, 500, 200, 200, 200, 200, 200, 200, 200, 404, 200, 200, 200}},
	{"skewed ids", func() []int64 {
		// Ids of a few busy users and many quiet ones, scattered.
		r := rand.New(rand.NewPCG(6, 6))
		v := make([]int64, 1000)
		for i := range v {
			v[i] = 100000 + int64(r.ExpFloat64()*100)*7919%100000
		}
		return v
	}()},
	{"extremes", []int64{math.MinInt64, math.MaxInt64, 0, -1, 1}},
	{"one", []int64{-5}},
}

func TestIntsGolden(t *testing.T) {
	var out bytes.Buffer
	for _, tt := range intCases {
		enc := AppendInts(nil, tt.vals)
		fmt.Fprintf(&out, "%s: %v\n  %s %s\n", tt.name, tt.vals, EncodingName(enc[0]), hex.EncodeToString(enc))
		got, err := DecodeInts(nil, enc, len(tt.vals))
		if err != nil || !reflect.DeepEqual(got, tt.vals) {
			t.Errorf("%s: decoded %v, %v", tt.name, got, err)
		}
	}
	goldenfile.Check(t, "ints.golden", out.Bytes())
}

var strCases = []struct {
	name string
	vals []string
}{
	{"const", []string{"GET", "GET", "GET"}},
	{"dict", []string{"GET", "POST", "GET", "GET", "GET", "GET", "GET", "GET", "GET", "GET", "GET", "PUT"}},
	{"plain", []string{"a", "bc", "", "xyz"}},
	{"hex", []string{"4b5a859e9ac299e0", "bac8451eb94379d0", "", "c0ffee", "7"}},
	{"flate", func() []string {
		v := make([]string, 40)
		for i := range v {
			v[i] = fmt.Sprintf("request %d finished in %d ms", i*7919, i*31%97)
		}
		return v
	}()},
	{"split", func() []string {
		v := make([]string, 100)
		for i := range v {
			v[i] = fmt.Sprintf("u%d", 100000+i*i%977)
		}
		return v
	}()},
	{"slots", func() []string {
		v := make([]string, 100)
		for i := range v {
			switch i % 4 {
			case 0:
				v[i] = fmt.Sprintf("job %d finished in %d ms", 972783+i, i*i)
			case 1:
				v[i] = fmt.Sprintf("/api/v1/orders/%d", 3118162+i*7)
			case 2:
				v[i] = fmt.Sprintf("u%d", 100000+i%9)
			default:
				v[i] = fmt.Sprintf("zero 0 lead 007 long 1234567890123456789 x%d", i)
			}
		}
		return v
	}()},
	{"dict with flate indices", strings.Split(strings.Repeat("the quick brown fox jumps over the lazy dog ", 20), " ")},
	{"empty strings", []string{"", ""}},
}

func TestStringsGolden(t *testing.T) {
	var out bytes.Buffer
	for _, tt := range strCases {
		enc := AppendStrings(nil, tt.vals)
		fmt.Fprintf(&out, "%s: %d values\n  %s %s\n", tt.name, len(tt.vals), EncodingName(enc[0]), hex.EncodeToString(enc))
		s, err := DecodeStrings(enc, len(tt.vals))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var got []string
		for i := range s.Len() {
			got = append(got, s.At(i))
		}
		if !reflect.DeepEqual(got, tt.vals) {
			t.Errorf("%s: decoded %q", tt.name, got)
		}
	}
	goldenfile.Check(t, "strings.golden", out.Bytes())
}

func TestBoolsAndLevelsGolden(t *testing.T) {
	var out bytes.Buffer
	bools := []bool{true, true, true, true, true, true, true, true, true, false, true, false}
	enc := AppendBools(nil, bools)
	fmt.Fprintf(&out, "bools: %v\n  %s\n", bools, hex.EncodeToString(enc))
	if got, err := DecodeBools(nil, enc, len(bools)); err != nil || !reflect.DeepEqual(got, bools) {
		t.Errorf("bools: %v, %v", got, err)
	}
	// The levels of the paper's Name.Language.Country column, then a
	// column present in every record.
	for _, l := range []struct {
		levels []uint8
		max    int
	}{{[]uint8{0, 2, 1, 1, 0}, 2}, {[]uint8{3, 2, 1, 3, 1}, 3}, {[]uint8{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 1}, {[]uint8{0, 0}, 0}} {
		enc := AppendLevels(nil, l.levels, l.max)
		fmt.Fprintf(&out, "levels max %d: %v\n  %s\n", l.max, l.levels, hex.EncodeToString(enc))
		if got, err := DecodeLevels(enc, len(l.levels), l.max); err != nil || !reflect.DeepEqual(got, l.levels) {
			t.Errorf("levels %v: %v, %v", l.levels, got, err)
		}
	}
	goldenfile.Check(t, "bools-levels.golden", out.Bytes())
}

func TestRandomRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for range 300 {
		n := 1 + r.IntN(500)
		ints := make([]int64, n)
		strs := make([]string, n)
		spread := int64(1) << r.IntN(63)
		base := r.Int64()
		for i := range ints {
			ints[i] = base + r.Int64N(spread)
			if r.IntN(2) == 0 && i > 0 {
				ints[i] = ints[i-1] + 1000*r.Int64N(5)
			}
			strs[i] = fmt.Sprintf("v%d", r.IntN(1+r.IntN(n)))
		}
		if r.IntN(3) == 0 {
			for i := range strs {
				strs[i] += fmt.Sprint(r.Int64()) // mostly distinct: no dictionary
			}
		}
		for _, e := range []Encoder{{}, {Fast: true}} {
			got, err := DecodeInts(nil, e.AppendInts(nil, ints), n)
			if err != nil || !reflect.DeepEqual(got, ints) {
				t.Fatalf("%+v: ints %v: %v, %v", e, ints, got, err)
			}
			dict, idx := StringDict(strs, MaxDict)
			s, err := DecodeStrings(e.AppendStringsDict(nil, strs, dict, idx), n)
			if err != nil {
				t.Fatalf("%+v: %v", e, err)
			}
			for i := range strs {
				if s.At(i) != strs[i] {
					t.Fatalf("%+v: string %d: %q, want %q", e, i, s.At(i), strs[i])
				}
			}
		}
	}
}

// TestClaimedCounts checks that a few bytes cannot make a decoder allocate
// beyond the limits.
func TestClaimedCounts(t *testing.T) {
	if _, err := DecodeHybrid(nil, []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 1}, 1, MaxValues+1); !errors.Is(err, ErrCorrupt) {
		t.Errorf("count above MaxValues: %v", err)
	}
	if _, err := DecodeStrings([]byte{StrDict, 0xff, 0xff, 0xff, 0x0f, 0}, 10); !errors.Is(err, ErrCorrupt) {
		t.Errorf("huge dictionary: %v", err)
	}
}

// seedCorpus seeds a fuzz target with the encodings of the golden files
// under testdata/ (lines "  NAME HEX" after a line "name: N values" or
// "name: [...]") and of the test tables.
func seedCorpus(f *testing.F) {
	for _, name := range []string{"ints.golden", "strings.golden", "bools-levels.golden"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			fields := strings.Fields(line)
			if !strings.HasPrefix(line, "  ") || len(fields) == 0 {
				continue
			}
			if b, err := hex.DecodeString(fields[len(fields)-1]); err == nil {
				for _, n := range []uint16{1, 3, 12, 40, 181} {
					f.Add(b, n)
				}
			}
		}
	}
	for _, tt := range intCases {
		f.Add(AppendInts(nil, tt.vals), uint16(len(tt.vals)))
	}
	skewed := make([]int64, 300)
	for i := range skewed {
		skewed[i] = int64(i % 7 * i % 13)
	}
	f.Add(AppendInts(nil, skewed), uint16(len(skewed)))
	for _, tt := range strCases {
		f.Add(AppendStrings(nil, tt.vals), uint16(len(tt.vals)))
	}
	f.Add(AppendBools(nil, []bool{true, false, true}), uint16(3))
}

func FuzzHybridDecode(f *testing.F) {
	f.Add([]byte{0x03, 0x88, 0xc6, 0xfa}, uint8(3), uint16(8))
	f.Add([]byte{0x64, 0x01, 0x64, 0x00}, uint8(1), uint16(100))
	f.Fuzz(func(t *testing.T, src []byte, w uint8, n uint16) {
		vals, err := DecodeHybrid(nil, src, int(w%33), int(n))
		if err != nil {
			return
		}
		if len(vals) != int(n) {
			t.Fatalf("%d values, want %d", len(vals), n)
		}
		again, err := DecodeHybrid(nil, AppendHybrid(nil, vals, int(w%33)), int(w%33), int(n))
		if err != nil || !reflect.DeepEqual(again, vals) && n > 0 {
			t.Fatalf("re-encoding: %v, %v", again, err)
		}
	})
}

// FuzzRankedDecode decodes IntRanked streams: a dictionary rebuilt from
// its classes and gaps, and ranks from classes and bit offsets. What
// decodes must survive a round trip.
func FuzzRankedDecode(f *testing.F) {
	for _, tt := range intCases {
		if enc := AppendInts(nil, tt.vals); enc[0] == IntRanked {
			f.Add(enc[1:], uint16(len(tt.vals)))
		}
	}
	f.Fuzz(func(t *testing.T, src []byte, n uint16) {
		if n == 0 {
			return
		}
		vals, err := decodeRanked(nil, src, int(n))
		if err != nil {
			return
		}
		got, err := DecodeInts(nil, AppendInts(nil, vals), len(vals))
		if err != nil || !slices.Equal(got, vals) {
			t.Fatalf("re-encoding: %v", err)
		}
	})
}

// FuzzHexDecode decodes StrHex streams: lengths against the packed
// digits. What decodes must survive a round trip.
func FuzzHexDecode(f *testing.F) {
	for _, tt := range strCases {
		if isHex(tt.vals) {
			f.Add(appendHex(nil, tt.vals), uint16(len(tt.vals)))
		}
	}
	f.Fuzz(func(t *testing.T, src []byte, n uint16) {
		if n == 0 || len(src) == 0 || src[0] != StrHex {
			return
		}
		s, err := decodeHex(src, int(n))
		if err != nil {
			return
		}
		roundTrips(t, stringsOf(s), func(vals []string) (*Strings, error) {
			return DecodeStrings(AppendStrings(nil, vals), len(vals))
		})
	})
}

func FuzzDecode(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, src []byte, n uint16) {
		if ints, err := DecodeInts(nil, src, int(n)); err == nil {
			got, err := DecodeInts(nil, AppendInts(nil, ints), int(n))
			if err != nil || !reflect.DeepEqual(got, ints) {
				t.Fatalf("ints re-encoding: %v", err)
			}
		}
		if s, err := DecodeStrings(src, int(n)); err == nil {
			vals := stringsOf(s)
			got, err := DecodeStrings(AppendStrings(nil, vals), int(n))
			if err != nil || got.Len() != len(vals) {
				t.Fatalf("strings re-encoding: %v", err)
			}
		}
		DecodeBools(nil, src, int(n))
		DecodeLevels(src, int(n), int(n%8))
	})
}

func TestIntFlate(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	vals := make([]int64, 1000)
	for i := range vals {
		vals[i] = int64(r.ExpFloat64() * 20)
		if i%100 == 0 {
			vals[i] = 100000
		}
	}
	enc := AppendInts(nil, vals)
	if enc[0] != IntFlate {
		t.Errorf("skewed ints encoded as %s", EncodingName(enc[0]))
	}
	got, err := DecodeInts(nil, enc, len(vals))
	if err != nil || !reflect.DeepEqual(got, vals) {
		t.Fatalf("decoded %v", err)
	}
}

func TestSplitEdges(t *testing.T) {
	tests := [][]string{
		{"a0", "0", "00", "01", "9223372036854775807", "999999999999999999", "1000000000000000000", "x1y2z3", ""},
		{"\x00 1", "2"}, // holds the mark: not split
	}
	for _, vals := range tests {
		for len(vals) < 64 {
			vals = append(vals, vals...)
		}
		if enc := appendSplit(nil, vals); enc != nil {
			s, err := DecodeStrings(enc, len(vals))
			if err != nil {
				t.Fatalf("%q: %v", vals[:3], err)
			}
			for i := range vals {
				if s.At(i) != vals[i] {
					t.Fatalf("value %d: %q, want %q", i, s.At(i), vals[i])
				}
			}
		} else if vals[0] != "\x00 1" {
			t.Errorf("%q not split", vals[:3])
		}
	}
}

// TestStringDict checks StringDict's hash table against a map, across
// its growth and the limit.
func TestStringDict(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, card := range []int{1, 2, 63, 64, 65, 1000, 5000, 70000} {
		vals := make([]string, 5000)
		for i := range vals {
			vals[i] = fmt.Sprint(r.IntN(card))
		}
		for _, limit := range []int{card / 2, MaxDict} {
			index := map[string]uint32{}
			var want []string
			sampled := 0 // distinct values among the first 1024
			for i, v := range vals {
				if _, ok := index[v]; !ok {
					index[v] = uint32(len(want))
					want = append(want, v)
				}
				if i == 1023 {
					sampled = len(want)
				}
			}
			dict, idx := StringDict(vals, limit)
			if len(want) > limit || sampled > 900 {
				if dict != nil {
					t.Errorf("card %d limit %d: a dictionary of %d", card, limit, len(dict))
				}
				continue
			}
			if !reflect.DeepEqual(dict, want) {
				t.Fatalf("card %d limit %d: dictionary differs", card, limit)
			}
			for i, v := range vals {
				if dict[idx[i]] != v {
					t.Fatalf("card %d: index %d of %q", card, idx[i], v)
				}
			}
		}
	}
}

// TestIntDict checks the open-addressing dictionary against a map.
func TestIntDict(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for range 300 {
		n := 1 + r.IntN(5000)
		spread := 1 + r.IntN(3000)
		vals := make([]int64, n)
		for i := range vals {
			switch r.IntN(20) {
			case 0:
				vals[i] = math.MinInt64
			case 1:
				vals[i] = math.MaxInt64
			default:
				vals[i] = int64(r.IntN(spread))<<r.IntN(40) - int64(spread/2)
			}
		}
		limit := 1 + r.IntN(n)
		dict, idx := intDict(vals, limit)
		index := map[int64]uint32{}
		var want []int64
		for _, v := range vals {
			if _, ok := index[v]; !ok {
				index[v] = uint32(len(want))
				want = append(want, v)
			}
		}
		if dict == nil {
			if len(want) <= limit && !(n >= 4096 && distinctIn(vals[:1024]) > 900) {
				t.Fatalf("%d values, %d distinct, limit %d: no dictionary", n, len(want), limit)
			}
			continue
		}
		if !slices.Equal(dict, want) {
			t.Fatalf("dictionary %v, want %v", dict, want)
		}
		for i, v := range vals {
			if dict[idx[i]] != v {
				t.Fatalf("value %d: index %d gives %d, want %d", i, idx[i], dict[idx[i]], v)
			}
		}
	}
}

func distinctIn(vals []int64) int {
	seen := map[int64]bool{}
	for _, v := range vals {
		seen[v] = true
	}
	return len(seen)
}

// FuzzSlotsDecode decodes StrSlots streams: slot streams whose counts
// come from the skeleton indexes. What decodes must survive a round trip.
func FuzzSlotsDecode(f *testing.F) {
	for _, tt := range strCases {
		if enc := AppendStrings(nil, tt.vals); enc[0] == StrSlots {
			f.Add(enc[1:], uint16(len(tt.vals)))
		}
	}
	f.Fuzz(func(t *testing.T, src []byte, n uint16) {
		if n == 0 {
			return
		}
		s, err := decodeSplit(src, int(n), true)
		if err != nil {
			return
		}
		roundTrips(t, stringsOf(s), func(vals []string) (*Strings, error) {
			return DecodeStrings(AppendStrings(nil, vals), len(vals))
		})
	})
}

var groupCases = []struct {
	name  string
	vals  []string
	group []uint16
}{
	// A name each group tells: one constant per group.
	{"kinds", strings.Fields("rpc http rpc log log http rpc rpc log http"), []uint16{0, 1, 0, 2, 2, 1, 0, 0, 2, 1}},
	// Groups of distinct values come without a dictionary.
	{"distinct values", strings.Fields("a b a a b x0 x1 x2 x3 p"), []uint16{1, 1, 1, 1, 1, 3, 3, 3, 3, 1}},
	{"one group", strings.Fields("GET PUT GET GET"), []uint16{2, 2, 2, 2}},
}

// appendGrouped is AppendStringsGrouped of vals in 4 groups.
func appendGrouped(vals []string, group []uint16) []byte {
	dict, idx := StringDict(vals, MaxDict)
	return Encoder{}.AppendStringsGrouped(nil, vals, dict, idx, group, 4)
}

func TestStringsGroupedGolden(t *testing.T) {
	var out bytes.Buffer
	for _, tt := range groupCases {
		enc := appendGrouped(tt.vals, tt.group)
		fmt.Fprintf(&out, "%s: %d values in groups %v\n  %s %s\n", tt.name, len(tt.vals), tt.group, EncodingName(enc[0]), hex.EncodeToString(enc))
		s, err := DecodeStringsGrouped(enc, tt.group, 4)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		for i, v := range tt.vals {
			if s.At(i) != v {
				t.Errorf("%s: value %d: %q, want %q", tt.name, i, s.At(i), v)
			}
		}
		if s.Index != nil {
			seen := map[string]bool{}
			for i := range s.DictLen() {
				e := string(s.DictEntry(i))
				if seen[e] {
					t.Errorf("%s: %q twice in the dictionary", tt.name, e)
				}
				seen[e] = true
			}
		}
		if _, err := DecodeStrings(enc, len(tt.vals)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: decoded without groups: %v", tt.name, err)
		}
	}
	goldenfile.Check(t, "groups.golden", out.Bytes())
}

// FuzzGroupsDecode decodes StrGroups streams with groups from the fuzzer
// (each byte a value's group, modulo 4). What decodes must survive a
// round trip.
func FuzzGroupsDecode(f *testing.F) {
	for _, tt := range groupCases {
		g := make([]byte, len(tt.group))
		for i, x := range tt.group {
			g[i] = byte(x)
		}
		f.Add(appendGrouped(tt.vals, tt.group), g)
	}
	f.Fuzz(func(t *testing.T, src, g []byte) {
		group := make([]uint16, len(g))
		for i, x := range g {
			group[i] = uint16(x % 4)
		}
		s, err := DecodeStringsGrouped(src, group, 4)
		if err != nil {
			return
		}
		roundTrips(t, stringsOf(s), func(vals []string) (*Strings, error) {
			return DecodeStringsGrouped(appendGrouped(vals, group), group, 4)
		})
	})
}

// TestGroupsExpansion: a group's long constant repeated for many values
// must not make the merged strings grow beyond MaxBytes.
func TestGroupsExpansion(t *testing.T) {
	long := strings.Repeat("x", 1<<20)
	group := make([]uint16, 600)
	for i := range group {
		if i%2 == 1 {
			group[i] = 1
		}
	}
	vals := make([]string, len(group))
	for i := range vals {
		vals[i] = long
		if group[i] == 1 {
			vals[i] = fmt.Sprint(i) // distinct: no dictionary, so no merged one
		}
	}
	enc := appendGrouped(vals, group)
	if len(enc) > 2<<20 {
		t.Fatalf("the constant is not stored once: %d bytes", len(enc))
	}
	if _, err := DecodeStringsGrouped(enc, group, 4); !errors.Is(err, ErrCorrupt) {
		t.Errorf("300 MB of strings from %d bytes: %v", len(enc), err)
	}
}

// stringsOf lists the values of s.
func stringsOf(s *Strings) []string {
	vals := make([]string, s.Len())
	for i := range vals {
		vals[i] = s.At(i)
	}
	return vals
}

// roundTrips checks that vals come back from recode, which encodes and
// decodes them again: the fuzz targets' round trip.
func roundTrips(t *testing.T, vals []string, recode func([]string) (*Strings, error)) {
	t.Helper()
	got, err := recode(vals)
	if err != nil {
		t.Fatalf("re-encoding: %v", err)
	}
	for i := range vals {
		if got.At(i) != vals[i] {
			t.Fatalf("value %d: %q, want %q", i, got.At(i), vals[i])
		}
	}
}
