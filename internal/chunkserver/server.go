package chunkserver

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"stele/internal/chunklog"
	"stele/internal/httpserver"
	"stele/internal/mtls"
)

// Config configures a Handler.
type Config struct {
	Log *chunklog.Log
	// WriteTimeout bounds each write to a client; default DefaultWriteTimeout.
	WriteTimeout time.Duration
	// OnRequest, if set, receives the record of every request when it ends.
	OnRequest func(Request)
}

// Request is the record of one request served.
type Request struct {
	Method   string
	Path     string // as sent (escaped), cut to maxLoggedPath bytes
	Status   int
	Bytes    int64 // body bytes written
	Duration time.Duration
	Client   string // the client certificate's fingerprint, "" without one
	Error    string // why the response ended early; "" if it completed
}

// Handler serves a chunk log. It is an http.Handler.
type Handler struct {
	cfg     Config
	done    chan struct{}
	closer  sync.Once
	regions sync.Pool // *[]byte of pooledRegionBytes
}

// New returns a Handler for cfg.Log.
func New(cfg Config) *Handler {
	if cfg.Log == nil {
		panic("chunkserver: internal error: no log")
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	h := &Handler{cfg: cfg, done: make(chan struct{})}
	h.regions.New = func() any {
		b := make([]byte, pooledRegionBytes)
		return &b
	}
	return h
}

// Close ends every stream in progress (their connections are reset) and
// makes later streams end at once. The server's Shutdown calls for it
// after its grace period; closing the log ends streams cleanly instead.
func (h *Handler) Close() { h.closer.Do(func() { close(h.done) }) }

// exchange is one request in progress.
type exchange struct {
	h   *Handler
	w   http.ResponseWriter
	r   *http.Request
	rc  *http.ResponseController
	rec Request
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	x := &exchange{h: h, w: w, r: r, rc: http.NewResponseController(w)}
	x.rec.Method = r.Method
	x.rec.Path = r.URL.EscapedPath()
	if len(x.rec.Path) > maxLoggedPath {
		x.rec.Path = x.rec.Path[:maxLoggedPath]
	}
	if fp, ok := mtls.PeerFingerprint(r.TLS); ok {
		x.rec.Client = fp.String()
	}
	aborted := true
	defer func() {
		x.rec.Duration = time.Since(start)
		if aborted && x.rec.Error == "" {
			x.rec.Error = "handler ended abnormally"
		}
		if h.cfg.OnRequest != nil {
			h.cfg.OnRequest(x.rec)
		}
	}()
	if err := x.serve(); err != nil {
		if x.rec.Error == "" {
			x.rec.Error = err.Error()
		}
		// The documented way to make net/http reset the connection
		// instead of ending the response normally.
		panic(http.ErrAbortHandler)
	}
	aborted = false
}

func (x *exchange) serve() error {
	r := x.r
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		x.w.Header().Set("Allow", "GET, HEAD")
		return x.fail(http.StatusMethodNotAllowed, "only GET and HEAD")
	}
	if r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
		// The body is left unread; the server's ReadTimeout bounds how
		// long net/http spends discarding it.
		x.w.Header().Set("Connection", "close")
		return x.fail(http.StatusBadRequest, "requests have no body")
	}
	path := r.URL.Path
	switch {
	case path == "/chunk/":
		return x.list()
	case strings.HasPrefix(path, "/chunk/"):
		id := path[len("/chunk/"):]
		if !chunklog.ValidID(id) {
			return x.fail(http.StatusBadRequest, "malformed chunk id")
		}
		return x.chunk(id)
	}
	return x.fail(http.StatusNotFound, "not found")
}

// fail sends a short, fixed plain-text error.
func (x *exchange) fail(status int, msg string) error {
	h := x.w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	body := strconv.Itoa(status) + " " + msg + "\n"
	h.Set("Content-Length", strconv.Itoa(len(body)))
	x.writeHeader(status)
	return x.write([]byte(body))
}

func (x *exchange) writeHeader(status int) {
	x.rec.Status = status
	x.w.WriteHeader(status)
}

// write sends p within WriteTimeout. HEAD responses send nothing.
func (x *exchange) write(p []byte) error {
	if x.r.Method == http.MethodHead || len(p) == 0 {
		return nil
	}
	if err := x.rc.SetWriteDeadline(time.Now().Add(x.h.cfg.WriteTimeout)); err != nil {
		return fmt.Errorf("set write deadline: %w", err)
	}
	n, err := x.w.Write(p)
	x.rec.Bytes += int64(n)
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// flush pushes buffered bytes to the client within WriteTimeout.
func (x *exchange) flush() error {
	if err := x.rc.SetWriteDeadline(time.Now().Add(x.h.cfg.WriteTimeout)); err != nil {
		return fmt.Errorf("set write deadline: %w", err)
	}
	if err := x.rc.Flush(); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	return nil
}

func (x *exchange) list() error {
	var b strings.Builder
	for _, c := range x.h.cfg.Log.List() {
		b.WriteString(c.ID)
		b.WriteByte('\n')
	}
	h := x.w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	x.writeHeader(http.StatusOK)
	return x.write([]byte(b.String()))
}

func (x *exchange) chunk(id string) error {
	f, info, err := x.h.cfg.Log.OpenChunk(id)
	if errors.Is(err, chunklog.ErrNotFound) {
		return x.fail(http.StatusNotFound, "no such chunk")
	}
	if err != nil {
		x.rec.Error = err.Error()
		return x.fail(http.StatusInternalServerError, "cannot read the chunk")
	}
	defer f.Close()
	// The request is read whole; from here the response may outlive the
	// server's read timeout (a stream, a slow reader).
	if err := httpserver.ClearReadDeadline(x.w); err != nil {
		return fmt.Errorf("clear read deadline: %w", err)
	}
	var etag string
	if info.Closed {
		etag = `"` + hex.EncodeToString(info.ETag[:]) + `"`
	}
	start, ranged, ok := parseRange(x.r.Header.Get("Range"))
	if ir := x.r.Header.Get("If-Range"); ir != "" && (etag == "" || ir != etag) {
		ranged = false
	}
	if ranged {
		if !ok || start > info.Size || (info.Closed && start == info.Size) || !lineBoundary(f, start) {
			x.w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(info.Size, 10))
			return x.fail(http.StatusRequestedRangeNotSatisfiable, "range must be bytes=N- with N at a line boundary inside the chunk")
		}
	} else {
		start = 0
	}
	h := x.w.Header()
	h.Set("Content-Type", "application/x-ndjson")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Accept-Ranges", "bytes")
	if info.Closed {
		return x.closed(f, info, etag, start, ranged)
	}
	return x.latest(f, id, start, ranged)
}

// lineBoundary reports whether off starts a line of f.
func lineBoundary(f io.ReaderAt, off int64) bool {
	if off == 0 {
		return true
	}
	var b [1]byte
	_, err := f.ReadAt(b[:], off-1)
	return err == nil && b[0] == '\n'
}

// parseRange recognises "bytes=N-". ranged is false for every other form,
// which is then ignored; ok is false when N is too large to be in a chunk.
func parseRange(v string) (start int64, ranged, ok bool) {
	digits, found := strings.CutPrefix(v, "bytes=")
	if !found {
		return 0, false, false
	}
	digits, found = strings.CutSuffix(digits, "-")
	if !found || digits == "" {
		return 0, false, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false, false
		}
	}
	if len(digits) > maxRangeDigits {
		return 0, true, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, true, false
	}
	return n, true, true
}

// closed sends a closed chunk from start, region by region, each verified
// before any of its bytes go out.
func (x *exchange) closed(f io.ReaderAt, info chunklog.Info, etag string, start int64, ranged bool) error {
	regions, _, err := x.h.cfg.Log.Regions(info.ID)
	if errors.Is(err, chunklog.ErrNotFound) {
		return x.fail(http.StatusNotFound, "no such chunk")
	}
	if err != nil {
		x.rec.Error = err.Error()
		return x.fail(http.StatusInternalServerError, "cannot verify the chunk")
	}
	h := x.w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "private, immutable")
	if inm := x.r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
		h.Del("Content-Type")
		x.writeHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Length", strconv.FormatInt(info.Size-start, 10))
	if ranged {
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, info.Size-1, info.Size))
		x.writeHeader(http.StatusPartialContent)
	} else {
		x.writeHeader(http.StatusOK)
	}
	if x.r.Method == http.MethodHead {
		return nil
	}
	pooled := x.h.regions.Get().(*[]byte)
	defer x.h.regions.Put(pooled)
	for _, reg := range regions {
		if reg.Offset+reg.Length <= start {
			continue
		}
		buf := *pooled
		if reg.Length > int64(len(buf)) {
			buf = make([]byte, reg.Length) // a region holding a line of up to chunklog.MaxRecordBytes
		}
		buf = buf[:reg.Length]
		if _, err := f.ReadAt(buf, reg.Offset); err != nil {
			return fmt.Errorf("read chunk %s at %d: %w", info.ID, reg.Offset, err)
		}
		if !reg.Verify(buf) {
			return fmt.Errorf("chunk %s damaged: region at %d, %d bytes, fails its checksum", info.ID, reg.Offset, reg.Length)
		}
		if err := x.write(buf[max(start-reg.Offset, 0):]); err != nil {
			return err
		}
	}
	return nil
}

// etagMatch implements If-None-Match's weak comparison for our strong tags.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// latest sends the latest chunk from start and follows it until it closes.
func (x *exchange) latest(f io.ReaderAt, id string, start int64, ranged bool) error {
	x.w.Header().Set("Cache-Control", "no-store")
	if ranged {
		x.w.Header().Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-*/*")
		x.writeHeader(http.StatusPartialContent)
	} else {
		x.writeHeader(http.StatusOK)
	}
	if x.r.Method == http.MethodHead {
		return nil
	}
	log := x.h.cfg.Log
	buf := make([]byte, copyBytes)
	off := start
	for {
		// Take the channel before looking, so no append is missed.
		changed := log.Changed()
		info, err := log.Stat(id)
		if err != nil {
			return fmt.Errorf("chunk %s vanished while followed: %w", id, err)
		}
		for off < info.Size {
			n := min(int64(len(buf)), info.Size-off)
			if _, err := f.ReadAt(buf[:n], off); err != nil {
				return fmt.Errorf("read chunk %s at %d: %w", id, off, err)
			}
			if err := x.write(buf[:n]); err != nil {
				return err
			}
			off += n
		}
		if err := x.flush(); err != nil {
			return err
		}
		if info.Closed {
			return nil
		}
		// Quiet: no deadline while waiting, however long.
		if err := x.rc.SetWriteDeadline(time.Time{}); err != nil {
			return fmt.Errorf("clear write deadline: %w", err)
		}
		select {
		case <-changed:
		case <-x.r.Context().Done():
			return errors.New("client went away")
		case <-x.h.done:
			return errors.New("server stopping")
		}
	}
}
