package segment

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"stele/internal/colenc"
	"stele/internal/dremel"
	"stele/internal/eventgen"
)

// packBoth packs lines three ways: as lines (AddLine, which takes flat
// events on its fast path), as values parsed first (Add, which does too),
// and as values through the general path only; the three files must be
// the same bytes. Lines the parser refuses must be refused by AddLine too.
func packBoth(t *testing.T, dir string, lines []string, blockRows int, fast bool) {
	t.Helper()
	var ws [3]*Writer
	var paths [3]string
	for i := range ws {
		paths[i] = filepath.Join(dir, fmt.Sprint(i, ".seg"))
		w, err := Create(paths[i])
		if err != nil {
			t.Fatal(err)
		}
		w.BlockRows, w.Fast = blockRows, fast
		ws[i] = w
	}
	ws[2].general = true
	for _, l := range lines {
		errLine := ws[0].AddLine([]byte(l))
		v, err := dremel.ParseEvent(l)
		if err == nil {
			err = ws[1].Add(v)
			if err2 := ws[2].Add(v); (err == nil) != (err2 == nil) {
				t.Fatalf("line %q: Add: %v, general path: %v", l, err, err2)
			}
		}
		if (errLine == nil) != (err == nil) {
			t.Fatalf("line %q: AddLine: %v, parse and Add: %v", l, errLine, err)
		}
	}
	var data [3][]byte
	for i, w := range ws {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		data[i], _ = os.ReadFile(paths[i])
	}
	if !bytes.Equal(data[0], data[2]) || !bytes.Equal(data[1], data[2]) {
		t.Fatalf("%d lines, blocks of %d: packing lines gives %d bytes, values %d, values by the general path %d, not all the same",
			len(lines), blockRows, len(data[0]), len(data[1]), len(data[2]))
	}
}

func TestFlatPackSameBytes(t *testing.T) {
	dir := t.TempDir()
	g := eventgen.New(eventgen.Config{Seed: 3, Malformed: 0.01})
	var gen []string
	for range 2000 {
		l := g.Append(nil)
		gen = append(gen, string(l[:len(l)-1]))
	}
	for _, rows := range []int{0, 1, 7, 1000} {
		packBoth(t, dir, gen, rows, false)
	}
	packBoth(t, dir, gen, 0, true)

	// Flat and nested events mixed, so that blocks start flat and turn
	// general, and bad lines between them.
	r := rand.New(rand.NewPCG(9, 10))
	for i := range 40 {
		var lines []string
		for range 1 + r.IntN(60) {
			switch k := r.IntN(10); {
			case k < 6:
				lines = append(lines, gen[r.IntN(len(gen))])
			case k < 9:
				lines = append(lines, randEvent(r))
			default:
				lines = append(lines, fmt.Sprintf(`{"a":%d,"a":"x"}`, r.IntN(3)), `{"a":`, "{\"\xff\":1}")
			}
		}
		packBoth(t, dir, lines, 1+r.IntN(20), i%4 == 0)
	}
}

// TestShapesNarrowWide checks that the uint64 bitmaps of shapesNarrow
// number shapes and lay out their bitmaps as shapesWide does.
func TestShapesNarrowWide(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for range 200 {
		nflat, rows := 1+r.IntN(64), 1+r.IntN(300)
		cols := make([]dremel.Column, nflat+1)
		var flat []int
		for k := range nflat {
			i := k + r.IntN(2) // columns that are not flat in between
			if len(flat) > 0 && i <= flat[len(flat)-1] {
				i = flat[len(flat)-1] + 1
			}
			if i >= len(cols) {
				break
			}
			flat = append(flat, i)
			p := r.Float64()
			cols[i].D = make([]uint8, rows)
			for row := range rows {
				if r.Float64() < p {
					cols[i].D[row] = 1
				}
			}
		}
		a, b := make([]uint32, rows), make([]uint32, rows)
		na, ta := shapesNarrow(cols, flat, a)
		nb, tb := shapesWide(cols, flat, b, (len(flat)+7)/8)
		if na != nb || !bytes.Equal(ta, tb) || !slices.Equal(a, b) {
			t.Fatalf("%d flat columns, %d rows: narrow %d shapes %x, wide %d shapes %x", len(flat), rows, na, ta, nb, tb)
		}
	}
}

// TestValuesByShape: generated events, whose kind their shape tells, have
// their kind column grouped by shape; it reads back as written, and coded
// with a dictionary of distinct entries.
func TestValuesByShape(t *testing.T) {
	g := eventgen.New(eventgen.Config{Seed: 5})
	var lines []string
	for range 3000 {
		l := g.Append(nil)
		lines = append(lines, string(l[:len(l)-1]))
	}
	path := filepath.Join(t.TempDir(), "s.seg")
	pack(t, path, lines, 1000)
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kind := f.Project([][]string{{"kind"}})[0]
	for b, blk := range f.Blocks {
		if enc := blk.Chunk(kind).Encoding; enc != colenc.StrGroups {
			t.Errorf("block %d: kind encoded as %s", b, colenc.EncodingName(enc))
		}
		plain, err := f.ReadColumn(b, kind)
		if err != nil {
			t.Fatal(err)
		}
		coded, err := f.ReadColumnCoded(b, kind)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, e := range coded.Dict {
			if seen[e] {
				t.Fatalf("block %d: %q twice in the dictionary", b, e)
			}
			seen[e] = true
		}
		for i, c := range coded.Codes {
			if coded.Dict[c] != plain.Strs[i] {
				t.Fatalf("block %d value %d: %q, want %q", b, i, coded.Dict[c], plain.Strs[i])
			}
		}
	}
	var out bytes.Buffer
	if err := f.WriteJSON(&out, nil); err != nil {
		t.Fatal(err)
	}
	for i, got := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if !jsonEqual(t, got, lines[i]) {
			t.Fatalf("record %d: %s, want %s", i, got, lines[i])
		}
	}
}
