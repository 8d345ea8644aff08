package capture

import "time"

const (
	// MaxLineBytes is the longest line kept whole (DESIGN section 2: events
	// of at least 256 KiB are kept whole, and a chunk stays under 1 MB).
	MaxLineBytes = 256 << 10

	// PieceBytes is the most raw bytes of an over-long line in one wrapped
	// piece: escaped, a piece stays far below a chunk's size.
	PieceBytes = 64 << 10

	// maxWrappedBytes bounds a wrapped line once escaped; a line whose
	// escaping would exceed it is cut into pieces like an over-long line.
	maxWrappedBytes = 512 << 10

	// readBytes is how much one read(2) of a pipe may return: large reads
	// mean fewer system calls per event.
	readBytes = 256 << 10

	// DefaultBufferBytes is the default bound of the Buffer between the
	// pipes and the disk: seconds of a busy program's output.
	DefaultBufferBytes = 64 << 20
)

// ownReserve is buffer room kept for Stele's own events beyond the limit.
const ownReserve = 1 << 20

// directStall is how often the Buffer's watchdog looks for a direct write
// that has stalled: one running through a whole interval (so for at least
// this long, at most twice it) has its stream read on by another goroutine.
// The program's pipe (1 MiB where the kernel allows) holds its output
// meanwhile.
const directStall = 200 * time.Millisecond
