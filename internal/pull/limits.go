package pull

import "time"

const (
	// maxListBytes bounds a GET /chunk/ listing: ids are at most 16 bytes
	// and a newline, and a supervisor keeps far fewer than 100k chunks.
	maxListBytes = 100_000 * 17

	// maxChunkBytes bounds what one GET /chunk/ID may return: a chunk is
	// under 1 MB (DESIGN section 2), with room for one record alone.
	maxChunkBytes = 2_000_000

	// readBytes is how much is read from a response at a time.
	readBytes = 64 << 10

	// closedRunBytes is how much of a closed chunk is handed on at once:
	// each run costs the store a log record and a share of an fsync, so
	// a chunk that is there whole goes in a few large runs rather than
	// one per read.
	closedRunBytes = 256 << 10

	// dialTimeout, handshakeTimeout and headerTimeout bound how long a dead
	// or slow supervisor can hold a request before it has answered.
	dialTimeout      = 10 * time.Second
	handshakeTimeout = 10 * time.Second
	headerTimeout    = 30 * time.Second

	// keepAlive is the TCP keepalive period: a vanished peer on a quiet
	// stream of the latest chunk is noticed within minutes.
	keepAlive = 30 * time.Second
)
