package chunklog

import (
	"errors"
	"os"
	"slices"
	"testing"
)

func TestRegions(t *testing.T) {
	o := testOptions(t.TempDir(), newFakeClock())
	o.ChunkBytes = 4 * RegionBytes // several regions per chunk
	l := mustOpen(t, o)
	defer l.Close()
	for i := range 6000 {
		if err := l.Append(appLine(i)); err != nil {
			t.Fatal(err)
		}
	}
	list := l.List()
	if len(list) < 2 {
		t.Fatalf("%d chunks, want at least 2", len(list))
	}
	latest := list[len(list)-1]
	if _, _, err := l.Regions(latest.ID); !errors.Is(err, ErrNotClosed) {
		t.Errorf("latest: %v, want ErrNotClosed", err)
	}
	if _, _, err := l.Regions("1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown: %v, want ErrNotFound", err)
	}
	c := list[0]
	regions, info, err := l.Regions(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if info != c {
		t.Errorf("info %+v, want %+v", info, c)
	}
	data, err := os.ReadFile(l.path(c.ID))
	if err != nil {
		t.Fatal(err)
	}
	var off int64
	for i, r := range regions {
		if r.Offset != off {
			t.Fatalf("region %d at %d, want %d", i, r.Offset, off)
		}
		b := data[r.Offset : r.Offset+r.Length]
		if !r.Verify(b) {
			t.Fatalf("region %d does not verify", i)
		}
		bad := append([]byte(nil), b...)
		bad[len(bad)/2] ^= 1
		if r.Verify(bad) || r.Verify(b[:len(b)-1]) {
			t.Fatalf("region %d verifies damaged bytes", i)
		}
		off += r.Length
	}
	if len(regions) < 3 || off != c.Size {
		t.Errorf("regions cover %d bytes of %d", off, c.Size)
	}
	// The regions are the log's own record of what it wrote: a .sum damaged
	// or lost on disk does not change them.
	os.WriteFile(l.path(c.ID+".sum"), []byte("junk"), 0o640)
	again, _, err := l.Regions(c.ID)
	if err != nil || !slices.Equal(again, regions) {
		t.Errorf("after the .sum was damaged: %v, regions changed: %v", err, !slices.Equal(again, regions))
	}
}
