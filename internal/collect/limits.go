package collect

import "time"

const (
	// defaultBackfillWorkers is the backfill pool size when Options leaves
	// it 0, the store's -backfill-workers default (DESIGN section 3).
	defaultBackfillWorkers = 4

	// backoffMin and backoffMax bound the wait after a failed list or
	// fetch: quick to recover from a blip, at most one attempt per 30 s on
	// a source that stays down.
	backoffMin = 200 * time.Millisecond
	backoffMax = 30 * time.Second

	// fullMin and fullMax bound the wait for memory after ingest.ErrFull:
	// another part of the store flushes the memtable, which takes seconds.
	fullMin = 50 * time.Millisecond
	fullMax = 5 * time.Second

	// listTimeout bounds a GET /chunk/ listing, body included: a slow
	// source must not hold its live loop forever.
	listTimeout = time.Minute

	// liveIdle is the live stream's watchdog: a supervisor closes a chunk
	// after at most 10 min (-chunk-age), and appends its own events, so a
	// longer silence means a dead path that keepalive has not noticed.
	liveIdle = 10*time.Minute + 2*time.Minute

	// livePoll is how soon the live loop lists again when the newest chunk
	// is already complete in the store: the next one appears at once
	// normally, and fresh events must be stored within a second.
	livePoll = 250 * time.Millisecond

	// liveGrace is how long backfill of a source waits for its live
	// stream's first data after a connect before it starts anyway (a quiet
	// latest chunk sends nothing).
	liveGrace = time.Second

	// taskTimeout bounds one backfill fetch: a closed chunk is under 1 MB,
	// so a slow source holds a shared worker for at most this long.
	taskTimeout = 2 * time.Minute

	// maxRefetch bounds how often one fetch restarts from the checkpoint
	// (ingest.ErrGap, a refused offset) before it counts as failed.
	maxRefetch = 3

	// errorEventInterval rate-limits fetch_error events of one source;
	// errors in between are counted in the next event's "suppressed".
	errorEventInterval = time.Minute

	// progressInterval is how often backfill_progress events are written
	// for sources with a backlog.
	progressInterval = 30 * time.Second
)
