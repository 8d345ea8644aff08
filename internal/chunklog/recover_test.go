package chunklog

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fillAndAbandon writes lines into a log and leaves it as a kill -9 would.
func fillAndAbandon(t *testing.T, o Options, n int) (want []string) {
	t.Helper()
	l := mustOpen(t, o)
	for i := range n {
		line := appLine(i)
		want = append(want, string(line))
		if err := l.Append(line); err != nil {
			t.Fatal(err)
		}
	}
	l.closeFiles()
	l.stopLoops()
	return want
}

func chunkIDs(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range entries {
		if _, err := parseID(e.Name()); err == nil {
			ids = append(ids, e.Name())
		}
	}
	return ids
}

func TestRecoveryOfDamage(t *testing.T) {
	tests := []struct {
		name string
		// damage changes the files in dir; ids are oldest first, the last unclosed.
		damage func(t *testing.T, dir string, ids []string)
		// lost is how many application lines may go missing, at most.
		lost int
		// event is the own event Open must record.
		event string
	}{
		{
			name: "torn last line of the latest chunk",
			damage: func(t *testing.T, dir string, ids []string) {
				appendFile(t, filepath.Join(dir, ids[len(ids)-1]), []byte(`{"time_ns":5,"msg":"half a li`))
			},
			event: "chunk_recovered",
		},
		{
			name: "zeros after the last line, as a power loss leaves",
			damage: func(t *testing.T, dir string, ids []string) {
				appendFile(t, filepath.Join(dir, ids[len(ids)-1]), append(make([]byte, 300), '\n'))
			},
			event: "chunk_recovered",
		},
		{
			name: "flipped byte in a closed chunk",
			damage: func(t *testing.T, dir string, ids []string) {
				flipByte(t, filepath.Join(dir, ids[0]), 100)
			},
			lost:  (RegionBytes / 55) + 1, // at most one region; chunks here are one region
			event: "chunk_damaged",
		},
		{
			name: "closed chunk truncated",
			damage: func(t *testing.T, dir string, ids []string) {
				p := filepath.Join(dir, ids[1])
				st, _ := os.Stat(p)
				os.Truncate(p, st.Size()-10)
			},
			lost:  MinChunkBytes / 55,
			event: "chunk_damaged",
		},
		{
			name: "missing checksum file",
			damage: func(t *testing.T, dir string, ids []string) {
				os.Remove(filepath.Join(dir, ids[0]+".sum"))
			},
			event: "chunk_recovered",
		},
		{
			name: "damaged checksum file",
			damage: func(t *testing.T, dir string, ids []string) {
				flipByte(t, filepath.Join(dir, ids[1]+".sum"), 40)
			},
			event: "chunk_recovered",
		},
		{
			name: "empty checksum file",
			damage: func(t *testing.T, dir string, ids []string) {
				os.WriteFile(filepath.Join(dir, ids[2]+".sum"), nil, 0o640)
			},
			event: "chunk_recovered",
		},
		{
			name: "leftover temp files and an orphan checksum file",
			damage: func(t *testing.T, dir string, ids []string) {
				os.WriteFile(filepath.Join(dir, ids[0]+".sum.tmp"), []byte("junk"), 0o640)
				os.WriteFile(filepath.Join(dir, "1111111111C1.sum"), []byte("junk"), 0o640)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFakeClock()
			o := testOptions(t.TempDir(), c)
			want := fillAndAbandon(t, o, 400)
			ids := chunkIDs(t, o.Dir)
			if len(ids) < 4 {
				t.Fatalf("need several chunks, got %d", len(ids))
			}
			tt.damage(t, o.Dir, ids)
			l := mustOpen(t, o)
			data := readAll(t, l)
			got := appLines(data)
			if missing := len(want) - len(got); missing < 0 || missing > tt.lost {
				t.Errorf("lost %d lines, at most %d allowed", missing, tt.lost)
			}
			if missing := len(want) - len(got); missing > 0 && tt.lost == 0 {
				t.Errorf("lost %d lines", missing)
			}
			// What survives is in order and byte-identical.
			j := 0
			for _, g := range got {
				for j < len(want) && want[j] != g {
					j++
				}
				if j == len(want) {
					t.Fatalf("line %q altered or out of order", g)
				}
			}
			if tt.event != "" && len(ownEvents(t, data, tt.event)) == 0 {
				t.Errorf("no %s event", tt.event)
			}
			for _, ci := range l.List()[:len(l.List())-1] {
				if !ci.Closed {
					t.Errorf("chunk %s left open", ci.ID)
				}
			}
			l.Close()
			// A second open finds nothing more to repair.
			l2 := mustOpen(t, o)
			defer l2.Close()
			data2 := readAll(t, l2)
			if n1, n2 := len(ownEvents(t, data, "chunk_damaged")), len(ownEvents(t, data2, "chunk_damaged")); n1 != n2 {
				t.Errorf("second open found new damage: %d -> %d events", n1, n2)
			}
			for _, e := range []string{".tmp", "1111111111C1.sum"} {
				entries, _ := os.ReadDir(o.Dir)
				for _, en := range entries {
					if strings.HasSuffix(en.Name(), e) {
						t.Errorf("%s left on disk", en.Name())
					}
				}
			}
		})
	}
}

func appendFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func flipByte(t *testing.T, path string, off int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off%len(b)] ^= 0x20
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
}

// FuzzRecovery damages a chunk directory arbitrarily: Open must never fail,
// and afterwards every chunk is closed, ends on a line boundary, and a
// second Open repairs nothing more.
func FuzzRecovery(f *testing.F) {
	f.Add([]byte(`{"time_ns":1,"a":"b"}`+"\n"+`{"time_ns":2`), []byte{}, uint16(0), false)
	f.Add([]byte("\x00\x00\n{\"x\":1}\n"), []byte("STELESUM"), uint16(3), true)
	f.Add([]byte(`{"time_ns":1}`+"\n"), []byte("STELESUM\x01\x00\x00\x00"), uint16(100), true)
	f.Fuzz(func(t *testing.T, chunk, sum []byte, flip uint16, withSum bool) {
		c := newFakeClock()
		o := testOptions(t.TempDir(), c)
		o.noFsync = true
		fillAndAbandon(t, o, 150)
		ids := chunkIDs(t, o.Dir)
		// Replace the oldest chunk's bytes, and optionally its .sum, by the input.
		victim := filepath.Join(o.Dir, ids[0])
		if len(chunk) > 0 {
			os.WriteFile(victim, chunk, 0o640)
		}
		if withSum {
			os.WriteFile(victim+".sum", sum, 0o640)
		} else if len(sum) > 0 {
			flipByte(t, victim+".sum", int(flip))
		}
		flipByte(t, filepath.Join(o.Dir, ids[1]), int(flip))
		l, err := Open(o)
		if err != nil {
			t.Fatalf("Open after damage: %v", err)
		}
		for _, ci := range l.List()[:len(l.List())-1] {
			b, err := os.ReadFile(filepath.Join(o.Dir, ci.ID))
			if err != nil {
				t.Fatal(err)
			}
			if !ci.Closed || int64(len(b)) != ci.Size || (len(b) > 0 && b[len(b)-1] != '\n') {
				t.Fatalf("chunk %s: closed=%v size=%d on disk=%d", ci.ID, ci.Closed, ci.Size, len(b))
			}
		}
		data := readAll(t, l)
		l.Close()
		l2, err := Open(o)
		if err != nil {
			t.Fatalf("second Open: %v", err)
		}
		defer l2.Close()
		if n1, n2 := len(ownEvents(t, data, "chunk_damaged")), len(ownEvents(t, readAll(t, l2), "chunk_damaged")); n1 != n2 {
			t.Fatalf("second open found new damage")
		}
		_ = bytes.MinRead
	})
}

func TestDamageCostsOnlyItsRegion(t *testing.T) {
	c := newFakeClock()
	o := testOptions(t.TempDir(), c)
	o.ChunkBytes = MaxChunkBytes
	l := mustOpen(t, o)
	var want int
	for i := 0; l.List()[0].Size < 600_000; i++ {
		l.Append(appLine(i))
		want++
	}
	l.Close()
	ids := chunkIDs(t, o.Dir)
	flipByte(t, filepath.Join(o.Dir, ids[0]), 300_000)
	l = mustOpen(t, o)
	defer l.Close()
	got := len(appLines(readAll(t, l)))
	lost := want - got
	perRegion := RegionBytes/len(appLine(0)) + 2
	if lost <= 0 || lost > perRegion {
		t.Fatalf("lost %d of %d lines; want 1..%d (one region)", lost, want, perRegion)
	}
	ev := ownEvents(t, readAll(t, l), "chunk_damaged")
	if len(ev) != 1 || ev[0]["damaged_regions"] != float64(1) {
		t.Fatalf("damage events: %v", ev)
	}
}
