package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"stele/internal/collect"
	"stele/internal/event"
	"stele/internal/httpserver"
	"stele/internal/mtls"
)

var errServerClosed = http.ErrServerClosed

// startHTTP binds -listen and serves the API.
func (s *server) startHTTP(cert tls.Certificate) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", s.handleStatus)
	mux.HandleFunc("GET /query", s.query.handle)
	mux.HandleFunc("POST /query", s.query.handle)
	var err error
	s.srv, err = httpserver.Listen(httpserver.Config{
		Addr: s.cfg.listen,
		TLS: mtls.NewServerConfig(mtls.ServerOptions{
			Cert:  cert,
			Allow: s.allow,
		}),
		Handler:     s.logRequests(mux),
		MaxConns:    s.cfg.maxConns,
		ReadTimeout: httpHeaderTimeout,
		IdleTimeout: httpIdleTimeout,
	})
	if err != nil {
		return err
	}
	fp := mtls.FingerprintDER(cert.Certificate[0])
	s.event("http_listening", func(b *event.Builder) {
		b.Str("addr", s.srv.Addr().String())
		b.Str("fingerprint", fp.String())
	})
	fmt.Fprintf(s.stderr, "store: serving https://%s/status with certificate %s\n", s.srv.Addr(), fp)
	return nil
}

// statusWriter notes what a handler sent.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

// Unwrap lets http.ResponseController reach the connection's writer, so
// that query streams can flush through this one.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// logRequests records every request as an own event.
func (s *server) logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		r.Body = http.MaxBytesReader(w, r.Body, maxRequestBytes)
		h.ServeHTTP(sw, r)
		client := ""
		if fp, ok := mtls.PeerFingerprint(r.TLS); ok {
			client = fp.String()
		}
		s.event("http_request", func(b *event.Builder) {
			b.Str("method", r.Method)
			b.Str("path", clip(r.URL.Path))
			b.Int("status", int64(sw.status))
			b.Int("bytes", sw.bytes)
			b.Int("duration_ms", time.Since(start).Milliseconds())
			b.Str("client", client)
		})
	})
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// status is the body of GET /status.
type status struct {
	TimeNS  int64                  `json:"time_ns"`
	Uptime  string                 `json:"uptime"`
	Sources []collect.SourceStatus `json:"sources"`
	Storage storageStatus          `json:"storage"`
	Queries queriesStatus          `json:"queries"`
}

// queriesStatus is what the query API holds: its queries and the cache of
// decoded columns they share (-query-cache; all zero without one).
type queriesStatus struct {
	Running int         `json:"running"`
	Max     int         `json:"max_running"`
	Cache   cacheStatus `json:"cache"`
}

type cacheStatus struct {
	Bytes   int64 `json:"bytes"`
	Limit   int64 `json:"limit_bytes"`
	Entries int   `json:"entries"`
	Hits    int64 `json:"hits"`
	Misses  int64 `json:"misses"`
}

type storageStatus struct {
	Events        int64   `json:"events"`
	Segments      int     `json:"segments"`
	SegmentEvents int64   `json:"segment_events"`
	SegmentBytes  int64   `json:"segment_bytes"`
	BytesPerEvent float64 `json:"bytes_per_event"`
	MemoryEvents  int     `json:"memory_events"`
	MemoryBytes   int64   `json:"memory_bytes"`
	Untimed       int64   `json:"untimed_events"`
	OwnEventsErr  string  `json:"own_events_error,omitempty"`
	SegmentError  string  `json:"segment_error,omitempty"`
	DedupRebuilds int64   `json:"dedup_rebuilds"`
}

func (s *server) handleStatus(w http.ResponseWriter, r *http.Request) {
	st := s.store.Stats()
	tot := s.store.Table().Totals()
	out := status{
		TimeNS:  time.Now().UnixNano(),
		Uptime:  time.Since(s.started).Round(time.Second).String(),
		Sources: s.coll.Status(),
		Storage: storageStatus{
			Events:        tot.Records + int64(st.Records+st.Frozen),
			Segments:      tot.Segments,
			SegmentEvents: tot.Records,
			SegmentBytes:  tot.Bytes,
			MemoryEvents:  st.Records + st.Frozen,
			MemoryBytes:   st.MemBytes,
			Untimed:       st.Untimed,
			SegmentError:  st.SegmentError,
			DedupRebuilds: st.Rebuilds,
		},
	}
	out.Queries = queriesStatus{Running: len(s.query.running), Max: cap(s.query.running)}
	if c := s.query.cache; c != nil {
		cs := c.Stats()
		out.Queries.Cache = cacheStatus{Bytes: cs.Bytes, Limit: int64(s.cfg.queryCache), Entries: cs.Entries, Hits: cs.Hits, Misses: cs.Misses}
	}
	if tot.Records > 0 {
		out.Storage.BytesPerEvent = float64(tot.Bytes) / float64(tot.Records)
	}
	if err := s.rec.Err(); err != nil {
		out.Storage.OwnEventsErr = err.Error()
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil || buf.Len() > maxStatusBytes {
		if err == nil {
			err = errors.New("status too large")
		}
		http.Error(w, "status unavailable", http.StatusInternalServerError)
		s.event("status_failed", func(b *event.Builder) { b.Str("error", err.Error()) })
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(buf.Bytes())
}
