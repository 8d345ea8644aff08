package segment

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"stele/internal/dremel"
)

// cacheSegments writes n segments of random events (and a column with a
// dictionary) and returns their paths.
func cacheSegments(t *testing.T, n int) []string {
	r := rand.New(rand.NewPCG(7, 8))
	dir := t.TempDir()
	var paths []string
	for i := range n {
		var lines []string
		for j := range 200 + r.IntN(300) {
			lines = append(lines, fmt.Sprintf(`{"time_ns":%d,"level":%q,"n":%d,"r":%s}`, 1767225600000000000+j, []string{"info", "warn", "error"}[r.IntN(3)], r.IntN(100), randEvent(r)))
		}
		path := filepath.Join(dir, fmt.Sprint(i, ".seg"))
		pack(t, path, lines, 50+r.IntN(100))
		paths = append(paths, path)
	}
	return paths
}

// readAll reads every coded column of every block of the file at path.
func readAll(t *testing.T, c *Cache, path string) [][]any {
	t.Helper()
	var f *File
	var err error
	if c == nil {
		f, err = OpenFile(path)
	} else {
		f, err = c.OpenFile(path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]any
	for b := range f.Blocks {
		var cols []any
		for leaf := range f.Schema.Leaves {
			col, err := f.ReadColumnCoded(b, leaf)
			if err == ErrNoColumn {
				cols = append(cols, nil)
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			cols = append(cols, col)
			plain, err := f.ReadColumn(b, leaf)
			if err != nil {
				t.Fatal(err)
			}
			cols = append(cols, plain)
		}
		// Presence, read through the cache.
		for leaf := range f.Schema.Leaves {
			all, err := f.Complete(b, leaf)
			if err != nil {
				t.Fatal(err)
			}
			if all {
				col, err := f.ReadColumn(b, leaf)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range col.D {
					if int(d) != f.Schema.Leaves[leaf].MaxD() {
						t.Fatalf("block %d leaf %d: complete, but a record has no value", b, leaf)
					}
				}
			}
			cols = append(cols, all)
		}
		out = append(out, cols)
	}
	return out
}

func TestCacheHitsAreReads(t *testing.T) {
	paths := cacheSegments(t, 6)
	c := NewCache(64 << 20)
	for round := range 3 {
		for _, p := range paths {
			want := readAll(t, nil, p)
			if got := readAll(t, c, p); !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d, %s: cached reads differ", round, p)
			}
		}
	}
	st := c.Stats()
	if st.Hits == 0 || st.Misses == 0 || st.Bytes > 64<<20 {
		t.Errorf("stats %+v: want hits, misses, and bytes within the bound", st)
	}
}

func TestCacheBound(t *testing.T) {
	paths := cacheSegments(t, 4)
	for _, max := range []int64{0, 1, 4 << 10, 32 << 10} {
		c := NewCache(max)
		for range 2 {
			for _, p := range paths {
				want := readAll(t, nil, p)
				if got := readAll(t, c, p); !reflect.DeepEqual(got, want) {
					t.Fatalf("bound %d, %s: cached reads differ", max, p)
				}
				if st := c.Stats(); st.Bytes > max {
					t.Fatalf("bound %d: cache holds %d bytes", max, st.Bytes)
				}
			}
		}
	}
}

// TestCacheNewFile: a file written again at the same path is read anew,
// never from what the cache kept of the old one.
func TestCacheNewFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.seg")
	c := NewCache(64 << 20)
	for i := range 4 {
		var lines []string
		for j := range 100 {
			lines = append(lines, fmt.Sprintf(`{"time_ns":%d,"v":"%d-%d"}`, 1767225600000000000+j, i, j%3))
		}
		tmp := path + ".new"
		pack(t, tmp, lines, 40)
		if i%2 == 1 {
			// Same size and modification time: only the footer's
			// checksum tells the files apart.
			old, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(tmp, time.Time{}, old.ModTime()); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
		want := readAll(t, nil, path)
		for range 2 {
			if got := readAll(t, c, path); !reflect.DeepEqual(got, want) {
				t.Fatalf("version %d: cached reads differ", i)
			}
		}
	}
}

// TestCacheConcurrent reads through one cache from several goroutines
// (run it with -race), with a bound that makes them evict each other's
// entries.
func TestCacheConcurrent(t *testing.T) {
	paths := cacheSegments(t, 4)
	want := map[string][][]any{}
	for _, p := range paths {
		want[p] = readAll(t, nil, p)
	}
	for _, max := range []int64{16 << 10, 64 << 20} {
		c := NewCache(max)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 12 {
					p := paths[(g+i)%len(paths)]
					if got := readAll(t, c, p); !reflect.DeepEqual(got, want[p]) {
						t.Errorf("bound %d, %s: cached reads differ", max, p)
						return
					}
				}
			})
		}
		wg.Wait()
		if st := c.Stats(); st.Bytes > max {
			t.Errorf("bound %d: cache holds %d bytes", max, st.Bytes)
		}
	}
}

// TestAssembleSome: records assembled alone (picked out of the columns
// when few are wanted, stepped to otherwise) are the records assembled
// with all the others.
func TestAssembleSome(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	c := NewCache(64 << 20)
	paths := cacheSegments(t, 3)
	for k := range 2 * len(paths) {
		path := paths[k/2]
		f, err := OpenFile(path)
		if k%2 == 1 {
			f, err = c.OpenFile(path) // coded columns, shared
		}
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for b := range f.Blocks {
			var all []string
			err := f.Assemble(b, nil, func(v dremel.Value) error {
				all = append(all, string(dremel.AppendJSON(nil, v)))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, share := range []int{1, 3, 20, 100} {
				want := map[int]bool{}
				for i := range all {
					want[i] = r.IntN(share) == 0
				}
				var got []int
				err := f.AssembleSome(b, nil, func(i int) bool { return want[i] }, func(i int, v dremel.Value) error {
					if s := string(dremel.AppendJSON(nil, v)); !want[i] || s != all[i] {
						t.Fatalf("block %d record %d: %s, want %s (wanted %v)", b, i, s, all[i], want[i])
					}
					got = append(got, i)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, w := range want {
					if w {
						n++
					}
				}
				if len(got) != n {
					t.Fatalf("block %d: %d records, want %d", b, len(got), n)
				}
			}
		}
	}
}
