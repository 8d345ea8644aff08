package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"stele/internal/chunkserver"
	"stele/internal/event"
	"stele/internal/httpserver"
	"stele/internal/mtls"
)

// httpShutdownGrace is how long requests in progress may finish when the
// supervisor exits. Streams of the latest chunk end at once (the log is
// closed first); this is for closed chunks still being sent.
const httpShutdownGrace = 5 * time.Second

// httpAPI is the HTTPS server of the chunk log and its allow list.
type httpAPI struct {
	s       *supervisor
	allow   *mtls.Allow
	handler *chunkserver.Handler
	srv     *httpserver.Server
	served  chan error

	refusedTLS  rateLimit
	refusedConn rateLimit
}

// startHTTP loads the certificate and the allow list, binds -listen and
// starts serving.
func (s *supervisor) startHTTP() (*httpAPI, error) {
	cfg := s.cfg
	cert, err := mtls.LoadKeyPair(cfg.tlsCert, cfg.tlsKey)
	if err != nil {
		return nil, err
	}
	list, err := mtls.LoadAllowList(cfg.allow)
	if err != nil {
		return nil, err
	}
	a := &httpAPI{s: s, allow: mtls.NewAllow(list), served: make(chan error, 1)}
	a.handler = chunkserver.New(chunkserver.Config{
		Log:          s.log,
		WriteTimeout: cfg.httpWriteTimeout,
		OnRequest:    a.requestEvent,
	})
	a.srv, err = httpserver.Listen(httpserver.Config{
		Addr: cfg.listen,
		TLS: mtls.NewServerConfig(mtls.ServerOptions{
			Cert:      cert,
			Allow:     a.allow,
			OnRefused: a.refusedEvent,
		}),
		Handler:     a.handler,
		MaxConns:    cfg.maxConns,
		ReadTimeout: cfg.httpHeaderTimeout,
		IdleTimeout: cfg.httpIdleTimeout,
		// net/http's own complaints (handshakes that fail before our
		// check: no certificate, TLS 1.2, plain HTTP) are discarded: not
		// worth an event each.
		OnRefused: a.connRefusedEvent,
	})
	if err != nil {
		return nil, err
	}
	fp := mtls.FingerprintDER(cert.Certificate[0])
	s.event("http_listening", func(b *event.Builder) {
		b.Str("addr", a.srv.Addr().String())
		b.Str("fingerprint", fp.String())
		b.Int("allowed", int64(list.Len()))
	})
	fmt.Fprintf(s.stderr, "supervisor: serving https://%s/chunk/ with certificate %s\n", a.srv.Addr(), fp)
	go func() { a.served <- a.srv.Serve() }()
	return a, nil
}

// reloadAllow re-reads the allow file; a bad file keeps the list in force.
// Connections already made are never touched.
func (a *httpAPI) reloadAllow() {
	list, err := mtls.LoadAllowList(a.s.cfg.allow)
	if err != nil {
		a.s.event("allow_reload_failed", func(b *event.Builder) {
			b.Str("file", a.s.cfg.allow)
			b.Str("error", err.Error())
			b.Int("allowed", int64(a.allow.Load().Len()))
		})
		return
	}
	a.allow.Store(list)
	a.s.event("allow_reloaded", func(b *event.Builder) {
		b.Str("file", a.s.cfg.allow)
		b.Int("allowed", int64(list.Len()))
	})
}

// stop ends the server once the log is closed: streams of the latest
// chunk have then had their last bytes and end on their own.
func (a *httpAPI) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), httpShutdownGrace)
	defer cancel()
	if err := a.srv.Shutdown(ctx); err != nil {
		a.handler.Close()
		a.srv.Close()
	}
	if err := <-a.served; err != nil {
		fmt.Fprintf(a.s.stderr, "supervisor: error: https server: %v\n", err)
	}
}

func (a *httpAPI) requestEvent(r chunkserver.Request) {
	a.s.event("http_request", func(b *event.Builder) {
		b.Str("method", r.Method)
		b.Str("path", r.Path)
		b.Int("status", int64(r.Status))
		b.Int("bytes", r.Bytes)
		b.Int("duration_ms", r.Duration.Milliseconds())
		b.Str("client", r.Client)
		if r.Error != "" {
			b.Str("error", r.Error)
		}
	})
}

func (a *httpAPI) refusedEvent(fp mtls.Fingerprint, err error) {
	if n, ok := a.refusedTLS.allow(); ok {
		reason := "not in the allow list"
		switch {
		case errors.Is(err, mtls.ErrExpired):
			reason = "expired"
		case errors.Is(err, mtls.ErrNotYetValid):
			reason = "not yet valid"
		case !errors.Is(err, mtls.ErrNotAllowed):
			reason = err.Error()
		}
		a.s.event("tls_client_refused", func(b *event.Builder) {
			b.Str("client", fp.String())
			b.Str("reason", reason)
			b.Int("suppressed", n)
		})
	}
}

func (a *httpAPI) connRefusedEvent() {
	if n, ok := a.refusedConn.allow(); ok {
		a.s.event("http_connection_refused", func(b *event.Builder) {
			b.Str("reason", "too many connections")
			b.Int("max_conns", int64(a.s.cfg.maxConns))
			b.Int("suppressed", n)
		})
	}
}

// eventsPerSecond bounds the events of one kind that refused connections
// may cause: an attacker's connections must not flood the log.
const eventsPerSecond = 10

// rateLimit lets eventsPerSecond events a second through, counting the rest.
type rateLimit struct {
	// mu guards the fields below.
	mu         sync.Mutex
	window     time.Time // start of the current second
	sent       int
	suppressed int64
}

// allow reports whether an event may be recorded now, and how many were
// suppressed since the last one that was.
func (r *rateLimit) allow() (int64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if now.Sub(r.window) >= time.Second {
		r.window, r.sent = now, 0
	}
	if r.sent >= eventsPerSecond {
		r.suppressed++
		return 0, false
	}
	r.sent++
	n := r.suppressed
	r.suppressed = 0
	return n, true
}
