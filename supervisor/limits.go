package main

import "time"

const (
	// Restart delays: the first restart waits backoffMin, each next one
	// twice as long up to backoffMax; a run of backoffReset or more counts
	// as healthy and the next restart waits backoffMin again.
	backoffMin   = 100 * time.Millisecond
	backoffMax   = 30 * time.Second
	backoffReset = time.Minute

	// writeRetryMin and writeRetryMax bound the wait between attempts to
	// write to a failing disk.
	writeRetryMin = 10 * time.Millisecond
	writeRetryMax = time.Second

	// writeGiveUp is how long a stopping supervisor keeps retrying a failing
	// disk before it exits with an error: long enough for a transient
	// fault, short enough for an init system's stop timeout.
	writeGiveUp = 5 * time.Second
)
