package child

import "time"

const (
	// outputGrace is how long output may go on after the program exits,
	// from processes it started that still hold its stdout or stderr.
	outputGrace = 2 * time.Second

	// pipeBytes is the pipe capacity asked for: room for a burst of output
	// while the reader is busy (Linux's default is 64 KiB).
	pipeBytes = 1 << 20

	// fSetPipeSz is F_SETPIPE_SZ from fcntl.h, which package syscall lacks.
	fSetPipeSz = 1031
)
