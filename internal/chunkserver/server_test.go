package chunkserver

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"stele/internal/chunklog"
)

func TestListing(t *testing.T) {
	e := newEnv(t, envOptions{chunkBytes: chunklog.MinChunkBytes})
	seq := 0
	for range 5 {
		seq, _ = e.rotate(seq)
	}
	resp := e.get("/chunk/")
	b, err := body(resp)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, err)
	}
	var want []string
	for _, c := range e.log.List() {
		want = append(want, c.ID)
	}
	if got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("listing %v, want %v", got, want)
	}
	for i := 1; i < len(want); i++ {
		if want[i-1] >= want[i] {
			t.Fatalf("ids out of order: %v", want)
		}
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	r := e.record()
	if r.Method != "GET" || r.Path != "/chunk/" || r.Status != 200 || r.Bytes != int64(len(b)) || r.Client != e.clientFP.String() || r.Error != "" {
		t.Errorf("record %+v", r)
	}
}

func TestStatusCodes(t *testing.T) {
	e := newEnv(t, envOptions{})
	seq, closed := e.rotate(0)
	_ = seq
	tests := []struct {
		method, path string
		status       int
	}{
		{"GET", "/chunk/" + closed.ID, 200},
		{"HEAD", "/chunk/" + closed.ID, 200},
		{"GET", "/chunk/" + e.latestID(), 200},
		{"GET", "/chunk/1", 404},
		{"GET", "/chunk/ZZZZZZZZZZZZZZZZ", 404},
		{"GET", "/chunk/ZZZZZZZZZZZZZZZZZ", 400}, // 17 characters
		{"GET", "/chunk/abc", 400},
		{"GET", "/chunk/0", 400},
		{"GET", "/chunk/" + closed.ID + "/", 400},
		{"GET", "/chunk/%31", 404}, // "1", decoded
		{"GET", "/chunk/%2e%2e%2fx", 400},
		{"GET", "/chunk", 404},
		{"GET", "/", 404},
		{"GET", "/chunks/", 404},
		{"POST", "/chunk/", 405},
		{"DELETE", "/chunk/" + closed.ID, 405},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, e.base+tt.path, nil)
		if tt.method == "GET" && tt.path == "/chunk/"+e.latestID() {
			// The latest chunk streams; a HEAD shows its status.
			req.Method = "HEAD"
		}
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.method, tt.path, err)
		}
		body(resp)
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
		}
		if r := e.record(); r.Status != tt.status {
			t.Errorf("%s %s: record says %d", tt.method, tt.path, r.Status)
		}
	}
	// A request with a body is refused.
	resp, err := e.client.Post(e.base+"/chunk/", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	body(resp)
	if resp.StatusCode != 405 {
		t.Errorf("POST: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", e.base+"/chunk/", strings.NewReader("x"))
	resp, err = e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body(resp)
	if resp.StatusCode != 400 {
		t.Errorf("GET with a body: %d", resp.StatusCode)
	}
}

func TestClosedChunk(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, c := e.rotate(0)
	want := e.file(c.ID)
	etag := `"` + hex.EncodeToString(c.ETag[:]) + `"`
	resp := e.get("/chunk/" + c.ID)
	got, err := body(resp)
	if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, want) {
		t.Fatalf("%d %v, %d bytes, want %d", resp.StatusCode, err, len(got), len(want))
	}
	if resp.ContentLength != int64(len(want)) || resp.Header.Get("ETag") != etag || len(resp.TransferEncoding) != 0 {
		t.Errorf("headers %v, length %d", resp.Header, resp.ContentLength)
	}
	if r := e.record(); r.Bytes != int64(len(want)) || r.Status != 200 {
		t.Errorf("record %+v", r)
	}
	resp = e.get("/chunk/"+c.ID, "If-None-Match", `"x", `+etag)
	if b, _ := body(resp); resp.StatusCode != 304 || len(b) != 0 {
		t.Errorf("If-None-Match: %d, %d bytes", resp.StatusCode, len(b))
	}
	resp = e.get("/chunk/"+c.ID, "If-None-Match", `"other"`)
	if body(resp); resp.StatusCode != 200 {
		t.Errorf("If-None-Match other: %d", resp.StatusCode)
	}
}

func TestRange(t *testing.T) {
	e := newEnv(t, envOptions{})
	seq, c := e.rotate(0)
	data := e.file(c.ID)
	mid := int64(bytes.IndexByte(data[len(data)/2:], '\n') + len(data)/2 + 1) // a line boundary inside
	etag := `"` + hex.EncodeToString(c.ETag[:]) + `"`
	e.appendLines(seq, 10)
	latest := e.file(e.latestID())
	lmid := int64(bytes.IndexByte(latest, '\n') + 1)
	size := strconv.Itoa(len(data))
	tests := []struct {
		name         string
		id           string
		hdr          []string
		status       int
		from         int64 // expected body starts here
		contentRange string
	}{
		{"closed from a line", c.ID, []string{"Range", "bytes=" + strconv.FormatInt(mid, 10) + "-"}, 206, mid, "bytes " + strconv.FormatInt(mid, 10) + "-" + strconv.Itoa(len(data)-1) + "/" + size},
		{"closed from 0", c.ID, []string{"Range", "bytes=0-"}, 206, 0, "bytes 0-" + strconv.Itoa(len(data)-1) + "/" + size},
		{"closed mid-line", c.ID, []string{"Range", "bytes=" + strconv.FormatInt(mid+1, 10) + "-"}, 416, 0, "bytes */" + size},
		{"closed at end", c.ID, []string{"Range", "bytes=" + size + "-"}, 416, 0, "bytes */" + size},
		{"closed beyond", c.ID, []string{"Range", "bytes=" + strconv.Itoa(len(data)+1) + "-"}, 416, 0, "bytes */" + size},
		{"huge", c.ID, []string{"Range", "bytes=99999999999999999999999-"}, 416, 0, "bytes */" + size},
		{"If-Range matches", c.ID, []string{"Range", "bytes=" + strconv.FormatInt(mid, 10) + "-", "If-Range", etag}, 206, mid, "bytes " + strconv.FormatInt(mid, 10) + "-" + strconv.Itoa(len(data)-1) + "/" + size},
		{"If-Range differs", c.ID, []string{"Range", "bytes=" + strconv.FormatInt(mid, 10) + "-", "If-Range", `"x"`}, 200, 0, ""},
		{"N-M ignored", c.ID, []string{"Range", "bytes=0-10"}, 200, 0, ""},
		{"suffix ignored", c.ID, []string{"Range", "bytes=-10"}, 200, 0, ""},
		{"two ranges ignored", c.ID, []string{"Range", "bytes=0-,5-"}, 200, 0, ""},
		{"other unit ignored", c.ID, []string{"Range", "lines=5-"}, 200, 0, ""},
		{"junk ignored", c.ID, []string{"Range", "bytes=x-"}, 200, 0, ""},
		{"negative ignored", c.ID, []string{"Range", "bytes=-5-"}, 200, 0, ""},
		{"latest mid-line", e.latestID(), []string{"Range", "bytes=" + strconv.FormatInt(lmid+1, 10) + "-"}, 416, 0, "bytes */" + strconv.Itoa(len(latest))},
		{"latest beyond", e.latestID(), []string{"Range", "bytes=" + strconv.Itoa(len(latest)+1) + "-"}, 416, 0, "bytes */" + strconv.Itoa(len(latest))},
	}
	for _, tt := range tests {
		resp := e.get("/chunk/"+tt.id, tt.hdr...)
		got, err := body(resp)
		if err != nil || resp.StatusCode != tt.status {
			t.Errorf("%s: %d %v, want %d", tt.name, resp.StatusCode, err, tt.status)
			continue
		}
		if cr := resp.Header.Get("Content-Range"); cr != tt.contentRange {
			t.Errorf("%s: Content-Range %q, want %q", tt.name, cr, tt.contentRange)
		}
		if tt.status != 416 && !bytes.Equal(got, data[tt.from:]) {
			t.Errorf("%s: %d bytes, want the %d from %d", tt.name, len(got), len(data)-int(tt.from), tt.from)
		}
		e.record()
	}
}

// follow opens a stream of chunk id (from start when start ≥ 0).
func (e *env) follow(id string, start int64) (*http.Response, *bufio.Reader) {
	e.t.Helper()
	var hdr []string
	if start >= 0 {
		hdr = []string{"Range", "bytes=" + strconv.FormatInt(start, 10) + "-"}
	}
	resp := e.get("/chunk/"+id, hdr...)
	if resp.StatusCode/100 != 2 {
		e.t.Fatalf("follow: %d", resp.StatusCode)
	}
	return resp, bufio.NewReader(resp.Body)
}

func TestLatestStreamsUntilClosed(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.appendLines(0, 5)
	id := e.latestID()
	resp, r := e.follow(id, -1)
	defer resp.Body.Close()
	if resp.ContentLength != -1 || len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" || resp.Header.Get("ETag") != "" {
		t.Errorf("latest: length %d, encoding %v, ETag %q", resp.ContentLength, resp.TransferEncoding, resp.Header.Get("ETag"))
	}
	var got []byte
	got = append(got, readN(t, r, len(e.file(id)))...)
	// Each append reaches the follower on its own.
	seq := 5
	for i := range 20 {
		e.appendLines(seq, i%3+1)
		seq += i%3 + 1
		want := e.file(id)
		got = append(got, readN(t, r, len(want)-len(got))...)
		if !bytes.Equal(got, want) {
			t.Fatalf("after append %d: bytes differ", i)
		}
	}
	seq, info := e.rotate(seq)
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("stream did not end cleanly: %v", err)
	}
	got = append(got, rest...)
	if !bytes.Equal(got, e.file(id)) || int64(len(got)) != info.Size {
		t.Fatalf("follower got %d bytes, the closed chunk has %d", len(got), info.Size)
	}
	if rec := e.record(); rec.Status != 200 || rec.Bytes != info.Size || rec.Error != "" {
		t.Errorf("record %+v", rec)
	}
	// Resuming the now closed chunk at the end is 416 with its size.
	resp2 := e.get("/chunk/"+id, "Range", "bytes="+strconv.FormatInt(info.Size, 10)+"-")
	body(resp2)
	if resp2.StatusCode != 416 || resp2.Header.Get("Content-Range") != "bytes */"+strconv.FormatInt(info.Size, 10) {
		t.Errorf("resume at end: %d %q", resp2.StatusCode, resp2.Header.Get("Content-Range"))
	}
}

func TestLatestRangeResume(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.appendLines(0, 10)
	id := e.latestID()
	first := e.file(id)
	resp, r := e.follow(id, int64(len(first)))
	defer resp.Body.Close()
	if resp.StatusCode != 206 || resp.Header.Get("Content-Range") != "bytes "+strconv.Itoa(len(first))+"-*/*" {
		t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Content-Range"))
	}
	e.appendLines(10, 3)
	want := e.file(id)[len(first):]
	if got := readN(t, r, len(want)); !bytes.Equal(got, want) {
		t.Fatal("resumed stream differs")
	}
	e.rotate(13)
	rest, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(append(want, rest...), e.file(id)[len(first):]) {
		t.Fatalf("end of resumed stream: %v", err)
	}
}

func TestFollowerGoingAwayIsReleased(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.appendLines(0, 3)
	resp, r := e.follow(e.latestID(), -1)
	readN(t, r, len(e.file(e.latestID())))
	resp.Body.Close()
	e.client.Transport.(*http.Transport).CloseIdleConnections()
	rec := e.record()
	if rec.Error != "client went away" {
		t.Errorf("record %+v", rec)
	}
	// leakcheck (in newEnv) checks the handler's goroutine and file are gone.
}

func TestQuietStreamOutlivesTimeouts(t *testing.T) {
	const timeouts = 50 * time.Millisecond
	e := newEnv(t, envOptions{timeouts: timeouts})
	e.appendLines(0, 1)
	id := e.latestID()
	resp, r := e.follow(id, -1)
	defer resp.Body.Close()
	readN(t, r, len(e.file(id)))
	// Quiet for twenty times every server timeout: the read, idle and
	// write timeouts must not end the stream.
	<-time.After(20 * timeouts)
	e.appendLines(1, 1)
	if got := readN(t, r, len(line(1))); !bytes.Equal(got, line(1)) {
		t.Fatal("wrong bytes after the quiet period")
	}
}

func TestDamagedRegionEndsTheResponse(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, c := e.rotate(0)
	regions, _, err := e.log.Regions(c.ID)
	if err != nil || len(regions) < 3 {
		t.Fatalf("%d regions, %v", len(regions), err)
	}
	path := filepath.Join(e.log.Dir(), c.ID)
	data := e.file(c.ID)
	damaged := append([]byte(nil), data...)
	bad := regions[1].Offset + 10
	damaged[bad] ^= 0x20
	if err := os.WriteFile(path, damaged, 0o640); err != nil {
		t.Fatal(err)
	}
	resp := e.get("/chunk/" + c.ID)
	got, err := body(resp)
	if err == nil {
		t.Fatal("a damaged chunk was served as whole")
	}
	if !bytes.Equal(got, data[:len(got)]) || int64(len(got)) > regions[1].Offset {
		t.Errorf("%d bytes sent: the damaged region began at %d", len(got), regions[1].Offset)
	}
	if rec := e.record(); !strings.Contains(rec.Error, "damaged") {
		t.Errorf("record %+v", rec)
	}
	// A range past the damage is served.
	resp = e.get("/chunk/"+c.ID, "Range", "bytes="+strconv.FormatInt(regions[2].Offset, 10)+"-")
	if got, err := body(resp); err != nil || !bytes.Equal(got, data[regions[2].Offset:]) {
		t.Errorf("range after the damage: %v", err)
	}
}

func TestCloseAbortsStreams(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.appendLines(0, 1)
	resp, r := e.follow(e.latestID(), -1)
	defer resp.Body.Close()
	readN(t, r, len(e.file(e.latestID())))
	e.h.Close()
	if _, err := io.ReadAll(r); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("aborted stream read: %v, want io.ErrUnexpectedEOF", err)
	}
	if rec := e.record(); rec.Error != "server stopping" {
		t.Errorf("record %+v", rec)
	}
}

func TestLogCloseEndsStreamsCleanly(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.appendLines(0, 4)
	id := e.latestID()
	resp, r := e.follow(id, -1)
	defer resp.Body.Close()
	readN(t, r, len(e.file(id)))
	e.log.Close()
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("stream after the log closed: %v", err)
	}
	if want := e.file(id); !bytes.HasSuffix(want, rest) || !bytes.Contains(rest, []byte(`"reason":"shutdown"`)) {
		t.Errorf("tail %q", rest)
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		in         string
		start      int64
		ranged, ok bool
	}{
		{"", 0, false, false},
		{"bytes=0-", 0, true, true},
		{"bytes=123-", 123, true, true},
		{"bytes=123", 0, false, false},
		{"bytes=-", 0, false, false},
		{"bytes=1-2", 0, false, false},
		{"bytes= 1-", 0, false, false},
		{"bytes=+1-", 0, false, false},
		{"Bytes=1-", 0, false, false},
		{"bytes=1-,2-", 0, false, false},
		{"bytes=999999999999999999-", 999999999999999999, true, true},
		{"bytes=9999999999999999999-", 0, true, false},
	}
	for _, tt := range tests {
		start, ranged, ok := parseRange(tt.in)
		if start != tt.start || ranged != tt.ranged || ok != tt.ok {
			t.Errorf("parseRange(%q) = %d %v %v, want %d %v %v", tt.in, start, ranged, ok, tt.start, tt.ranged, tt.ok)
		}
	}
}
