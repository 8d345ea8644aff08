package segment

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"stele/internal/dremel"
	"stele/internal/eventgen"
)

// packBoth packs lines twice: as lines (AddLine, which takes flat events
// on its fast path) and as values parsed first (Add, the general path);
// the two files must be the same bytes. Lines the parser refuses must be
// refused by AddLine too.
func packBoth(t *testing.T, dir string, lines []string, blockRows int, fast bool) {
	t.Helper()
	a, b := filepath.Join(dir, "lines.seg"), filepath.Join(dir, "values.seg")
	wa, err := Create(a)
	if err != nil {
		t.Fatal(err)
	}
	wb, err := Create(b)
	if err != nil {
		t.Fatal(err)
	}
	wa.BlockRows, wb.BlockRows = blockRows, blockRows
	wa.Fast, wb.Fast = fast, fast
	for _, l := range lines {
		errA := wa.AddLine([]byte(l))
		v, err := dremel.ParseEvent(l)
		if err == nil {
			err = wb.Add(v)
		}
		if (errA == nil) != (err == nil) {
			t.Fatalf("line %q: AddLine: %v, parse and Add: %v", l, errA, err)
		}
	}
	if err := wa.Close(); err != nil {
		t.Fatal(err)
	}
	if err := wb.Close(); err != nil {
		t.Fatal(err)
	}
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if !bytes.Equal(da, db) {
		t.Fatalf("%d lines, blocks of %d: packing lines gives %d bytes, packing values %d, not the same", len(lines), blockRows, len(da), len(db))
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
