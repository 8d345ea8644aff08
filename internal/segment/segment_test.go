package segment

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"stele/internal/colenc"
	"stele/internal/dremel"
	"stele/internal/goldenfile"
)

// smallEvents is the input of the golden segment: a few shapes of event,
// two blocks of three records.
var smallEvents = []string{
	`{"time_ns":1767225600000000000,"level":"info","msg":"started","pid":42}`,
	`{"time_ns":1767225600001000000,"level":"info","rpc_method":"GetUser","duration_ms":12,"tags":["a","b"]}`,
	`{"time_ns":1767225600002000000,"level":"error","rpc_method":"UpdateAccount","server_error":"deadline","duration_ms":1500}`,
	`{"time_ns":1767225600003000000,"level":"info","http":{"method":"GET","status":200,"path":"/x"},"ok":true}`,
	`{"time_ns":1767225600004000000,"level":"warn","temp":-3.5,"extra":null,"list":[1,"x"],"empty":{}}`,
	`{"time_ns":1767225600005000000,"level":"info","http":{"method":"POST","status":500}}`,
}

func pack(t testing.TB, path string, lines []string, blockRows int) {
	t.Helper()
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w.BlockRows = blockRows
	if err := w.AddLines(strings.NewReader(strings.Join(lines, "\n"))); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func unpack(t testing.TB, data []byte, fields [][]string) ([]string, error) {
	t.Helper()
	r, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	var leaves []int
	if fields != nil {
		leaves = r.Project(fields)
	}
	var out bytes.Buffer
	if err := r.WriteJSON(&out, leaves); err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"), nil
}

func jsonEqual(t testing.TB, a, b string) bool {
	t.Helper()
	dec := func(s string) any {
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("decode %q: %v", s, err)
		}
		return v
	}
	return reflect.DeepEqual(dec(a), dec(b))
}

func TestGoldenSegment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "small.seg")
	pack(t, path, smallEvents, 3)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	goldenfile.Check(t, "small.seg", data)
	r, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := r.Inspect(&text, int64(len(data))); err != nil {
		t.Fatal(err)
	}
	goldenfile.Check(t, "small.inspect", text.Bytes())

	got, err := unpack(t, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(smallEvents) {
		t.Fatalf("%d records, want %d", len(got), len(smallEvents))
	}
	for i := range got {
		if !jsonEqual(t, got[i], smallEvents[i]) {
			t.Errorf("record %d: %s, want %s", i, got[i], smallEvents[i])
		}
	}
}

func TestProjectionAndZoneMaps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.seg")
	pack(t, path, smallEvents, 3)
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	if err := f.WriteJSON(&out, f.Project([][]string{{"level"}, {"http", "status"}})); err != nil {
		t.Fatal(err)
	}
	want := `{"level":"info"}
{"level":"info"}
{"level":"error"}
{"level":"info","http":{"status":200}}
{"level":"warn"}
{"level":"info","http":{"status":500}}
`
	if out.String() != want {
		t.Errorf("projected:\n%s\nwant:\n%s", out.String(), want)
	}

	b0, b1 := &f.Blocks[0], &f.Blocks[1]
	if !b0.HasTime || b0.MinTime != 1767225600000000000 || b0.MaxTime != 1767225600002000000 ||
		b1.MinTime != 1767225600003000000 || b1.MaxTime != 1767225600005000000 {
		t.Errorf("time zones %+v %+v", b0, b1)
	}
	level := f.Project([][]string{{"level"}})[0]
	rpc := f.Project([][]string{{"rpc_method"}})[0]
	tests := []struct {
		b    *Block
		leaf int
		s    string
		want bool
	}{
		{b0, level, "error", true},
		{b1, level, "warn", true},
		{b0, rpc, "UpdateAccount", true},
		{b1, rpc, "GetUser", false}, // no chunk in block 1
	}
	for _, tt := range tests {
		if got := tt.b.MayContain(tt.leaf, tt.s); got != tt.want {
			t.Errorf("MayContain(%d, %q) = %v", tt.leaf, tt.s, got)
		}
	}
	// A bloom filter rejects most absent values.
	misses := 0
	for i := range 1000 {
		if !b0.MayContain(level, fmt.Sprint("absent", i)) {
			misses++
		}
	}
	if misses < 900 {
		t.Errorf("bloom filter rejected only %d of 1000 absent values", misses)
	}
	// Reading one column of one block.
	col, err := f.ReadColumn(1, f.Project([][]string{{"time_ns"}})[0])
	if err != nil || !reflect.DeepEqual(col.Ints, []int64{1767225600003000000, 1767225600004000000, 1767225600005000000}) {
		t.Errorf("time_ns of block 1: %v, %v", col, err)
	}
}

// TestReadColumnCoded: a column read with its dictionary gives the same
// values as ReadColumn, and string columns of few distinct values come
// coded.
func TestReadColumnCoded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.seg")
	var lines []string
	for i := range 3000 {
		lines = append(lines, fmt.Sprintf(`{"time_ns":%d,"level":%q,"n":%d,"id":"x%d"}`, 1767225600000000000+i, []string{"info", "warn", "error"}[i%3], i, i))
	}
	pack(t, path, lines, 1000)
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	codedSeen := false
	for b := range f.Blocks {
		for leaf := range f.Schema.Leaves {
			plain, err1 := f.ReadColumn(b, leaf)
			coded, err2 := f.ReadColumnCoded(b, leaf)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if coded.Dict == nil {
				if !reflect.DeepEqual(plain, coded) {
					t.Errorf("block %d leaf %d: uncoded read differs", b, leaf)
				}
				continue
			}
			codedSeen = codedSeen || len(coded.Dict) == 3
			if coded.Strs != nil || len(coded.Codes) != len(plain.Strs) {
				t.Fatalf("block %d leaf %d: %d codes for %d values", b, leaf, len(coded.Codes), len(plain.Strs))
			}
			for i, c := range coded.Codes {
				if coded.Dict[c] != plain.Strs[i] {
					t.Fatalf("block %d leaf %d value %d: %q, want %q", b, leaf, i, coded.Dict[c], plain.Strs[i])
				}
			}
		}
	}
	if !codedSeen {
		t.Error("the level column never came with its dictionary")
	}
}

// TestCorruption flips every bit of the golden segment, and truncates it
// at every length: each must be reported as corruption (or an unknown
// version), never read as other data and never a panic.
func TestCorruption(t *testing.T) {
	data, err := os.ReadFile("testdata/small.seg")
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, b []byte) {
		_, err := unpack(t, b, nil)
		var ve *VersionError
		if !errors.Is(err, ErrCorrupt) && !errors.As(err, &ve) {
			t.Fatalf("%s: error %v, want corruption", what, err)
		}
	}
	for i := range data {
		for bit := range 8 {
			b := bytes.Clone(data)
			b[i] ^= 1 << bit
			check(fmt.Sprintf("bit %d of byte %d", bit, i), b)
		}
	}
	for n := range len(data) {
		check(fmt.Sprintf("truncated to %d bytes", n), data[:n])
	}
}

func TestRandomRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	dir := t.TempDir()
	for i := range 30 {
		lines := make([]string, 1+r.IntN(40))
		for j := range lines {
			lines[j] = randEvent(r)
		}
		path := filepath.Join(dir, fmt.Sprint(i, ".seg"))
		pack(t, path, lines, 1+r.IntN(10))
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := unpack(t, data, nil)
		if err != nil {
			t.Fatal(err)
		}
		for j := range lines {
			if !jsonEqual(t, got[j], lines[j]) {
				t.Fatalf("record %d: %s, want %s", j, got[j], lines[j])
			}
		}
	}
}

func TestAtomicWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.seg")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.AddLine([]byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("segment visible before Close: %v", err)
	}
	w.Abort()
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Errorf("Abort left %d files", len(ents))
	}
}

func TestBadLines(t *testing.T) {
	w, err := Create(filepath.Join(t.TempDir(), "b.seg"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for _, line := range []string{`[1]`, `{"a":`, `"x"`} {
		if err := w.AddLine([]byte(line)); err == nil {
			t.Errorf("AddLine(%s) succeeded", line)
		}
	}
}

func randEvent(r *rand.Rand) string {
	var gen func(depth int) string
	gen = func(depth int) string {
		keys := []string{"a", "b", "time_ns", "x.y", ""}
		scalars := []string{`"s"`, `""`, `"GET"`, `0`, `7`, `-12`, `1.50`, `1e3`, `true`, `null`}
		k := r.IntN(10)
		if depth > 3 {
			k = 0
		}
		switch {
		case k < 5:
			return scalars[r.IntN(len(scalars))]
		case k < 8:
			var parts []string
			for range r.IntN(4) {
				parts = append(parts, fmt.Sprintf("%q:%s", keys[r.IntN(len(keys))], gen(depth+1)))
			}
			return "{" + strings.Join(parts, ",") + "}"
		default:
			var parts []string
			for range r.IntN(4) {
				parts = append(parts, gen(depth+1))
			}
			return "[" + strings.Join(parts, ",") + "]"
		}
	}
	for {
		if s := gen(0); s[0] == '{' {
			return s
		}
	}
}

// FuzzSegmentOpen opens and reads arbitrary bytes as a segment: errors
// only, never a panic, and allocation bounded by the limits.
func FuzzSegmentOpen(f *testing.F) {
	data, err := os.ReadFile("testdata/small.seg")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		r.Inspect(&buf, int64(len(b)))
		r.WriteJSON(&buf, nil)
		for i, blk := range r.Blocks {
			for _, c := range blk.Chunks {
				r.ReadColumn(i, c.Leaf)
			}
		}
	})
}

// FuzzSegmentRead packs random-ish events, flips bytes chosen by the fuzzer,
// and reads: the checksums must catch every change.
func FuzzSegmentRead(f *testing.F) {
	f.Add(uint64(1), uint32(100), byte(1))
	f.Add(uint64(2), uint32(7), byte(0x80))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, seed uint64, at uint32, flip byte) {
		if flip == 0 {
			return
		}
		r := rand.New(rand.NewPCG(seed, seed))
		lines := make([]string, 1+r.IntN(20))
		for j := range lines {
			lines[j] = randEvent(r)
		}
		path := filepath.Join(dir, "f.seg")
		pack(t, path, lines, 1+r.IntN(8))
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		data[int(at)%len(data)] ^= flip
		_, err = unpack(t, data, nil)
		var ve *VersionError
		if !errors.Is(err, ErrCorrupt) && !errors.As(err, &ve) {
			t.Fatalf("flip at %d: %v", int(at)%len(data), err)
		}
		// Read through a cache, coded, as queries read: errors only.
		bad := filepath.Join(dir, "bad.seg")
		if err := os.WriteFile(bad, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cf, err := NewCache(1 << 20).OpenFile(bad)
		for b := 0; err == nil && b < len(cf.Blocks); b++ {
			for leaf := 0; err == nil && leaf < len(cf.Schema.Leaves); leaf++ {
				if _, err = cf.Complete(b, leaf); err == nil {
					if _, err = cf.ReadColumnCoded(b, leaf); err == ErrNoColumn {
						err = nil
					}
				}
			}
			if err == nil {
				err = cf.AssembleSome(b, nil, func(i int) bool { return i == 0 }, func(int, dremel.Value) error { return nil })
			}
		}
		if cf != nil {
			cf.Close()
		}
		if err != nil && !errors.Is(err, ErrCorrupt) && !errors.As(err, &ve) {
			t.Fatalf("flip at %d, through a cache: %v", int(at)%len(data), err)
		}
	})
}

func TestEmptyRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "e.seg")
	pack(t, path, []string{`{}`, `{}`, `{"a":1}`, `{}`}, 2)
	data, _ := os.ReadFile(path)
	got, err := unpack(t, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{`{}`, `{}`, `{"a":1}`, `{}`}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q", got)
	}
	_ = dremel.ErrCorrupt
}

// FuzzChunkDecode decodes arbitrary chunk bodies, past the checksum that
// keeps FuzzSegmentOpen out, for each column of the golden segment.
func FuzzChunkDecode(f *testing.F) {
	data, err := os.ReadFile("testdata/small.seg")
	if err != nil {
		f.Fatal(err)
	}
	r, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range r.Blocks[1].Chunks {
		f.Add(data[c.Offset:c.Offset+c.Size-checksumSize], uint8(c.Leaf))
	}
	// Values grouped by the shapes of the presence chunk below: records 0
	// and 2 have shape 1, record 1 shape 0.
	v := colenc.Encoder{}.AppendStringsGrouped(nil, []string{"a", "b", "a"}, []string{"a", "b"}, []uint32{0, 1, 0}, []uint16{1, 0, 1}, 2)
	grouped := append([]byte{0, 0, 0, 0, 1, 3, 0, 0, byte(len(v))}, v...)
	for leaf := range r.Schema.Leaves {
		f.Add(grouped, uint8(leaf))
	}
	f.Fuzz(func(t *testing.T, body []byte, leaf uint8) {
		l := r.Schema.Leaves[int(leaf)%len(r.Schema.Leaves)]
		id := binary.LittleEndian.AppendUint32(nil, columnID(l.Path(), l.Repetitions(), l.Type))
		if len(body) >= 4 {
			// Let the fuzzer past the column id.
			body = append(id, body[4:]...)
		}
		coded := leaf%3 == 1
		col, err := decodeChunk(body, l, 3, 3, func() (*presence, error) {
			// Two shapes of the leaf's column and another; records 0
			// and 2 have both, record 1 only the leaf's.
			p := append(append([]byte{2}, id...), 5, 6, 7, 8, 2, 1, 3, 1, 0x03, 0x05)
			return decodePresence(p, 3)
		}, coded)
		if err != nil {
			return
		}
		for _, c := range col.Codes {
			if int(c) >= len(col.Dict) {
				t.Fatalf("code %d of a dictionary of %d", c, len(col.Dict))
			}
		}
		if col.Dict != nil {
			return // Assemble reads Strs
		}
		dremel.Assemble([]*dremel.Field{l}, []*dremel.Column{col}, 3, func(dremel.Value) error { return nil })
	})
}

// FuzzPackUnpack packs the JSON objects among the fuzzer's lines into a
// segment and unpacks it: the same records must come back, equal as JSON.
func FuzzPackUnpack(f *testing.F) {
	f.Add(strings.Join(smallEvents, "\n"))
	r := rand.New(rand.NewPCG(7, 7))
	for range 10 {
		f.Add(randEvent(r) + "\n" + randEvent(r))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in string) {
		var lines []string
		for _, l := range strings.Split(in, "\n") {
			if _, err := dremel.ParseEvent(l); err == nil && json.Valid([]byte(l)) {
				lines = append(lines, l)
			}
		}
		if len(lines) == 0 {
			return
		}
		path := filepath.Join(dir, "p.seg")
		pack(t, path, lines, 1+len(in)%4)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := unpack(t, data, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range lines {
			if !jsonEqual(t, got[i], lines[i]) {
				t.Fatalf("record %d: %s, want %s", i, got[i], lines[i])
			}
		}
	})
}

// FuzzFooterDecode decodes arbitrary footer and presence bodies, past the
// checksums that keep FuzzSegmentOpen out.
func FuzzFooterDecode(f *testing.F) {
	data, err := os.ReadFile("testdata/small.seg")
	if err != nil {
		f.Fatal(err)
	}
	flen := int(data[len(data)-trailerSize]) | int(data[len(data)-trailerSize+1])<<8
	footerAt := len(data) - trailerSize - flen
	f.Add(data[footerAt:len(data)-trailerSize-checksumSize], uint32(footerAt))
	f.Add([]byte{2, 1, 2, 3, 4, 5, 6, 7, 8, 2, 1, 3, 1, 0x03, 0x05}, uint32(3))
	f.Fuzz(func(t *testing.T, body []byte, at uint32) {
		r := &Reader{ra: bytes.NewReader(data), pres: map[int]*presence{}}
		if err := r.decodeFooter(body, int64(at)); err == nil {
			for i, blk := range r.Blocks {
				for _, c := range blk.Chunks {
					r.ReadColumn(i, c.Leaf)
				}
			}
		}
		decodePresence(body, int(at%70000))
	})
}
