package collect

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"stele/internal/chunklog"
	"stele/internal/chunkserver"
	"stele/internal/httpserver"
	"stele/internal/ingest"
	"stele/internal/mtls"
	"stele/internal/sources"
)

// waitTimeout bounds every wait for a condition: generous, since it is
// only spent when a test fails, and the machine is shared.
const waitTimeout = 60 * time.Second

// supervisor is a chunk log served by chunkserver over real mutual TLS on
// 127.0.0.1, which a test can take down and bring back on the same port.
type supervisor struct {
	t     *testing.T
	name  string
	log   *chunklog.Log
	cert  tls.Certificate
	allow *mtls.Allow
	src   sources.Source
	addr  string
	seq   int // the next line's number
	// mu guards gone.
	mu     sync.Mutex
	gone   map[string]bool // chunks answered with 404 whatever the log has
	h      *chunkserver.Handler
	srv    *httpserver.Server
	served chan error
}

func genCert(t testing.TB, name string) (tls.Certificate, mtls.Fingerprint) {
	t.Helper()
	certPEM, keyPEM, fp, err := mtls.GenerateCert(mtls.CertOptions{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c, fp
}

// newSupervisor starts serving a fresh chunk log that admits client.
func newSupervisor(t *testing.T, name string, client mtls.Fingerprint) *supervisor {
	t.Helper()
	return newSupervisorLog(t, name, client, chunklog.Options{})
}

// newSupervisorLog is newSupervisor with options for the chunk log; Dir,
// ChunkBytes and FsyncInterval are set here.
func newSupervisorLog(t *testing.T, name string, client mtls.Fingerprint, o chunklog.Options) *supervisor {
	t.Helper()
	o.Dir, o.ChunkBytes, o.FsyncInterval = t.TempDir(), chunklog.MinChunkBytes, time.Hour
	l, err := chunklog.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	cert, fp := genCert(t, name)
	list, err := mtls.ParseAllowList([]byte(client.String()))
	if err != nil {
		t.Fatal(err)
	}
	s := &supervisor{t: t, name: name, log: l, cert: cert, allow: mtls.NewAllow(list), addr: "127.0.0.1:0"}
	s.up()
	s.src = sources.Source{Name: name, URL: "https://" + s.addr, Fingerprint: fp}
	t.Cleanup(func() {
		s.down()
		l.Close()
	})
	return s
}

// up serves the log, on the same port as before if it was up before.
func (s *supervisor) up() {
	s.t.Helper()
	if s.srv != nil {
		return
	}
	s.h = chunkserver.New(chunkserver.Config{Log: s.log})
	handler := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.mu.Lock()
		gone := s.gone[strings.TrimPrefix(req.URL.Path, "/chunk/")]
		s.mu.Unlock()
		if gone {
			http.NotFound(w, req)
			return
		}
		s.h.ServeHTTP(w, req)
	})
	var err error
	for deadline := time.Now().Add(waitTimeout); ; time.Sleep(20 * time.Millisecond) {
		s.srv, err = httpserver.Listen(httpserver.Config{
			Addr:    s.addr,
			TLS:     mtls.NewServerConfig(mtls.ServerOptions{Cert: s.cert, Allow: s.allow}),
			Handler: handler,
		})
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		s.t.Fatal(err)
	}
	s.addr = s.srv.Addr().String()
	s.served = make(chan error, 1)
	go func() { s.served <- s.srv.Serve() }()
}

// down cuts every connection at once, streams included, and stops
// listening.
func (s *supervisor) down() {
	s.t.Helper()
	if s.srv == nil {
		return
	}
	s.h.Close()
	s.srv.Close()
	if err := <-s.served; err != nil {
		s.t.Errorf("serve: %v", err)
	}
	s.srv = nil
}

// discard makes the server answer 404 for chunk id, as for a chunk
// retention discarded between a listing and its fetch.
func (s *supervisor) discard(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone == nil {
		s.gone = map[string]bool{}
	}
	s.gone[id] = true
}

func (s *supervisor) line(i int) []byte {
	return fmt.Appendf(nil, `{"time_ns":%d,"src":%q,"seq":%d,"pad":"some text to make the line longer"}`+"\n", 1_000_000+i, s.name, i)
}

// write appends n lines.
func (s *supervisor) write(n int) {
	s.t.Helper()
	for range n {
		if err := s.log.Append(s.line(s.seq)); err != nil {
			s.t.Fatal(err)
		}
		s.seq++
	}
}

// rotate writes lines until the latest chunk closes, and returns its id.
func (s *supervisor) rotate() string {
	s.t.Helper()
	id := s.latest()
	for {
		s.write(1)
		if info, err := s.log.Stat(id); err != nil {
			s.t.Fatal(err)
		} else if info.Closed {
			return id
		}
	}
}

func (s *supervisor) latest() string {
	l := s.log.List()
	return l[len(l)-1].ID
}

// deadSupervisor is a TCP listener that accepts connections and never
// answers: not even the TLS handshake.
func deadSupervisor(t *testing.T) sources.Source {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		for _, c := range conns {
			c.Close()
		}
	})
	_, fp := genCert(t, "dead")
	return sources.Source{Name: "dead", URL: "https://" + ln.Addr().String(), Fingerprint: fp}
}

// rig is a store with a Collector pulling into it.
type rig struct {
	t      *testing.T
	dir    string
	store  *ingest.Store
	c      *Collector
	cert   tls.Certificate
	certFP mtls.Fingerprint
	maxAge time.Duration // Options.MaxAge for start
	idle   time.Duration // the live watchdog for start, if not 0

	// mu guards events.
	mu     sync.Mutex
	events []map[string]any
}

// newRig opens a store in a temporary directory. The Collector is made by
// start, after tests have set up their supervisors.
func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{t: t, dir: t.TempDir()}
	r.open(1 << 30)
	r.cert, r.certFP = genCert(t, "store")
	t.Cleanup(func() { r.store.Close() })
	return r
}

// open opens the store in r.dir with memory bytes of memtable.
func (r *rig) open(memory int64) {
	r.t.Helper()
	st, _, err := ingest.Open(ingest.Options{Dir: r.dir, DedupBudget: 1 << 20, MemoryBytes: memory})
	if err != nil {
		r.t.Fatal(err)
	}
	r.store = st
}

// start makes the Collector, with short backoffs so tests recover fast.
func (r *rig) start(workers int, srcs ...sources.Source) {
	r.t.Helper()
	r.c = New(Options{Cert: r.cert, Store: r.store, BackfillWorkers: workers, MaxAge: r.maxAge, Event: r.event})
	r.c.backoffMax = time.Second
	r.c.backoffMin = 20 * time.Millisecond
	if r.idle > 0 {
		r.c.idle = r.idle
	}
	r.c.SetSources(srcs)
	r.t.Cleanup(r.c.Close)
}

func (r *rig) event(line []byte) {
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil || !bytes.HasSuffix(line, []byte("\n")) {
		r.t.Errorf("event %q: %v", line, err)
	}
	r.mu.Lock()
	r.events = append(r.events, m)
	r.mu.Unlock()
}

// eventsOf returns the events named name of source, in order.
func (r *rig) eventsOf(name, source string) []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]any
	for _, e := range r.events {
		if e["_event"] == name && e["source"] == source {
			out = append(out, e)
		}
	}
	return out
}

// order returns the chunk ids of events named name of source, in order, as
// "id/mode" when the events have a mode.
func (r *rig) order(name, source string) []string {
	var out []string
	for _, e := range r.eventsOf(name, source) {
		out = append(out, e["chunk"].(string))
	}
	return out
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func (r *rig) waitFor(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s; status %+v", what, r.c.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// seqs counts the stored lines of source by their seq.
func (r *rig) seqs(source string) map[int]int {
	got := map[int]int{}
	r.store.Scan(func(rec ingest.Record) bool {
		if rec.Source == source {
			var v struct{ Seq *int }
			if err := json.Unmarshal(rec.Line, &v); err != nil {
				r.t.Errorf("stored line %q: %v", rec.Line, err)
			}
			if v.Seq != nil { // not one of the chunk log's own events
				got[*v.Seq]++
			}
		}
		return true
	})
	return got
}

// stored reports whether every line s wrote is stored.
func (r *rig) stored(s *supervisor) bool {
	got := r.seqs(s.name)
	for i := range s.seq {
		if got[i] == 0 {
			return false
		}
	}
	return true
}

// exactlyOnce fails the test unless every line s wrote is stored once and
// nothing else is.
func (r *rig) exactlyOnce(s *supervisor) {
	r.t.Helper()
	got := r.seqs(s.name)
	for i := range s.seq {
		if got[i] != 1 {
			r.t.Errorf("line %d of %s stored %d times", i, s.name, got[i])
		}
	}
	if len(got) != s.seq {
		r.t.Errorf("%d distinct lines of %s stored, %d written", len(got), s.name, s.seq)
	}
}

// status returns the Status of source.
func (r *rig) status(source string) SourceStatus {
	for _, st := range r.c.Status() {
		if st.Name == source {
			return st
		}
	}
	r.t.Fatalf("no status for %s", source)
	return SourceStatus{}
}

// chunkEvent formats a chunk id with its mode for readable failures.
func chunkEvent(e map[string]any) string {
	return fmt.Sprint(e["chunk"], "/", e["mode"])
}

func join(es []map[string]any) string {
	var b strings.Builder
	for _, e := range es {
		b.WriteString(chunkEvent(e) + " ")
	}
	return b.String()
}
