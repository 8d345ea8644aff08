package httpserver

import "time"

const (
	// DefaultMaxConns bounds concurrent connections: every follower of the
	// latest chunk holds one, and each costs a goroutine and about 50 KiB.
	DefaultMaxConns = 256

	// DefaultReadTimeout bounds reading a request's header and body
	// (DESIGN: header read ≤ 10 s).
	DefaultReadTimeout = 10 * time.Second

	// DefaultIdleTimeout closes keep-alive connections that carry no
	// request for this long.
	DefaultIdleTimeout = 60 * time.Second

	// DefaultKeepAlive is the idle time before TCP keep-alive probes start;
	// with keepAliveInterval and keepAliveCount a dead peer is found in
	// about a minute.
	DefaultKeepAlive = 30 * time.Second

	keepAliveInterval = 10 * time.Second
	keepAliveCount    = 3

	// DefaultMaxHeaderBytes bounds request headers: our requests need a
	// few hundred bytes.
	DefaultMaxHeaderBytes = 8 << 10
)
