package httpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// Config configures a Server. Zero durations and sizes take the defaults
// of limits.go.
type Config struct {
	Addr    string
	TLS     *tls.Config // required: a server config from package mtls
	Handler http.Handler

	MaxConns       int
	ReadTimeout    time.Duration
	IdleTimeout    time.Duration
	KeepAlive      time.Duration
	MaxHeaderBytes int

	// ErrorLog receives net/http's own complaints (failed handshakes, bad
	// requests); default: discarded.
	ErrorLog *log.Logger
	// OnRefused, if set, is called for each connection closed because
	// MaxConns were open. It must not block.
	OnRefused func()
}

// Server is a listening HTTPS server.
type Server struct {
	srv *http.Server
	ln  net.Listener
	lim *limitListener
}

// Listen binds cfg.Addr; Serve then serves it.
func Listen(cfg Config) (*Server, error) {
	if cfg.TLS == nil || cfg.Handler == nil {
		return nil, errors.New("httpserver: TLS config and handler required")
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.KeepAlive == 0 {
		cfg.KeepAlive = DefaultKeepAlive
	}
	if cfg.MaxHeaderBytes == 0 {
		cfg.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if cfg.MaxConns < 1 || cfg.ReadTimeout < 0 || cfg.IdleTimeout < 0 || cfg.KeepAlive < 0 || cfg.MaxHeaderBytes < 0 {
		return nil, errors.New("httpserver: negative limit")
	}
	if cfg.ErrorLog == nil {
		cfg.ErrorLog = log.New(discard{}, "", 0)
	}
	lc := net.ListenConfig{KeepAliveConfig: net.KeepAliveConfig{
		Enable:   true,
		Idle:     cfg.KeepAlive,
		Interval: keepAliveInterval,
		Count:    keepAliveCount,
	}}
	tcp, err := lc.Listen(context.Background(), "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("httpserver: %w", err)
	}
	lim := &limitListener{Listener: tcp, sem: make(chan struct{}, cfg.MaxConns), onRefused: cfg.OnRefused}
	tlsCfg := cfg.TLS.Clone()
	tlsCfg.NextProtos = []string{"http/1.1"}
	return &Server{
		srv: &http.Server{
			Handler:           cfg.Handler,
			ReadHeaderTimeout: cfg.ReadTimeout,
			ReadTimeout:       cfg.ReadTimeout,
			IdleTimeout:       cfg.IdleTimeout,
			MaxHeaderBytes:    cfg.MaxHeaderBytes,
			ErrorLog:          cfg.ErrorLog,
			// A non-nil empty map keeps HTTP/2 off: one protocol to audit,
			// and streams are plain chunked HTTP/1.1 responses.
			TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		},
		ln:  tls.NewListener(lim, tlsCfg),
		lim: lim,
	}, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Conns returns the number of connections open now.
func (s *Server) Conns() int { return len(s.lim.sem) }

// Serve accepts connections until Shutdown or Close; it returns nil then.
func (s *Server) Serve() error {
	err := s.srv.Serve(s.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting and waits for requests in progress to finish,
// until ctx ends; then Close cuts the rest.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// Close closes the listener and every connection at once.
func (s *Server) Close() error { return s.srv.Close() }

// ClearReadDeadline lets a handler run past the server's ReadTimeout. Call
// it only once the request (and any body) has been read: from then on, the
// connection's reads only watch for the client going away.
func ClearReadDeadline(w http.ResponseWriter) error {
	return http.NewResponseController(w).SetReadDeadline(time.Time{})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// limitListener admits at most cap(sem) connections at once.
type limitListener struct {
	net.Listener
	sem       chan struct{}
	onRefused func()
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.sem <- struct{}{}:
			return &limitConn{Conn: c, sem: l.sem}, nil
		default:
		}
		// Over the bound: a reset frees the socket at once, with no
		// TIME_WAIT on our side.
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		c.Close()
		if l.onRefused != nil {
			l.onRefused()
		}
	}
}

// limitConn gives its slot back when closed, once.
type limitConn struct {
	net.Conn
	sem  chan struct{}
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		<-c.sem
	})
	return err
}
