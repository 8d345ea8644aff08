package chunkserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"stele/internal/chunklog"
	"stele/internal/httpserver"
	"stele/internal/leakcheck"
	"stele/internal/mtls"
)

// env is a chunk log served over real mutual TLS on 127.0.0.1.
type env struct {
	t        testing.TB
	log      *chunklog.Log
	h        *Handler
	srv      *httpserver.Server
	client   *http.Client
	clientFP mtls.Fingerprint
	cliCert  tls.Certificate
	tlsCfg   *tls.Config // the client's
	base     string
	records  chan Request
}

type envOptions struct {
	chunkBytes   int64
	timeouts     time.Duration // server read/idle/write timeouts; default the package defaults
	maxConns     int
	maxHeaderLen int
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	leakcheck.Check(t)
	if o.chunkBytes == 0 {
		o.chunkBytes = 300_000
	}
	l, err := chunklog.Open(chunklog.Options{Dir: t.TempDir(), ChunkBytes: o.chunkBytes, FsyncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srvCert, srvFP := genCert(t, "server")
	cliCert, cliFP := genCert(t, "client")
	list, err := mtls.ParseAllowList([]byte(cliFP.String()))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, log: l, clientFP: cliFP, cliCert: cliCert, records: make(chan Request, 10_000)}
	e.h = New(Config{Log: l, WriteTimeout: o.timeouts, OnRequest: func(r Request) {
		select {
		case e.records <- r:
		default:
		}
	}})
	e.srv, err = httpserver.Listen(httpserver.Config{
		Addr:           "127.0.0.1:0",
		TLS:            mtls.NewServerConfig(mtls.ServerOptions{Cert: srvCert, Allow: mtls.NewAllow(list)}),
		Handler:        e.h,
		MaxConns:       o.maxConns,
		ReadTimeout:    o.timeouts,
		IdleTimeout:    o.timeouts,
		MaxHeaderBytes: o.maxHeaderLen,
	})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- e.srv.Serve() }()
	e.tlsCfg = mtls.NewClientConfig(mtls.ClientOptions{Cert: cliCert, Server: srvFP})
	tr := &http.Transport{TLSClientConfig: e.tlsCfg, DisableCompression: true}
	e.client = &http.Client{Transport: tr}
	e.base = "https://" + e.srv.Addr().String()
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		e.h.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
			e.srv.Close()
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
		l.Close()
	})
	return e
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

func line(i int) []byte {
	return fmt.Appendf(nil, `{"time_ns":%d,"seq":%d,"pad":"some text to make lines longer"}`+"\n", 1_000_000+i, i)
}

// appendLines appends lines first..first+n-1 one batch at a time.
func (e *env) appendLines(first, n int) {
	e.t.Helper()
	for i := first; i < first+n; i++ {
		if err := e.log.Append(line(i)); err != nil {
			e.t.Fatal(err)
		}
	}
}

// rotate appends lines from seq until the latest chunk closes, and returns
// the next seq and the closed chunk's Info.
func (e *env) rotate(seq int) (int, chunklog.Info) {
	e.t.Helper()
	list := e.log.List()
	id := list[len(list)-1].ID
	for {
		e.appendLines(seq, 1)
		seq++
		info, err := e.log.Stat(id)
		if err != nil {
			e.t.Fatal(err)
		}
		if info.Closed {
			return seq, info
		}
	}
}

func (e *env) file(id string) []byte {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.log.Dir(), id))
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func (e *env) latestID() string {
	l := e.log.List()
	return l[len(l)-1].ID
}

func (e *env) get(path string, hdr ...string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.base+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// body reads a whole response and returns it with the read error.
func body(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// record waits for the next request record.
func (e *env) record() Request {
	e.t.Helper()
	select {
	case r := <-e.records:
		return r
	case <-time.After(30 * time.Second):
		e.t.Fatal("no request record")
		return Request{}
	}
}

// readN reads exactly n bytes of a stream.
func readN(t testing.TB, r *bufio.Reader, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		t.Fatalf("reading %d bytes: %v", n, err)
	}
	return b
}
