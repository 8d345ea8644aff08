package chunkserver

import "time"

const (
	// DefaultWriteTimeout bounds one write to a client: a reader that
	// takes longer for 64 KiB is stuck or hostile.
	DefaultWriteTimeout = 30 * time.Second

	// copyBytes is the piece size for streaming the latest chunk.
	copyBytes = 32 << 10

	// pooledRegionBytes sizes the pooled region buffers: regions hold
	// about chunklog.RegionBytes; a region holding one huge line gets a
	// buffer of its own.
	pooledRegionBytes = 2 * 64 << 10

	// maxRangeDigits bounds the N of "bytes=N-": any longer N is beyond
	// every chunk and gets 416 without being parsed.
	maxRangeDigits = 18

	// maxLoggedPath bounds the path kept in a request's record, so a
	// hostile request line cannot make large events.
	maxLoggedPath = 200
)
