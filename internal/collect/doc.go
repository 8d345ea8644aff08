// Package collect is the store's pull scheduler (DESIGN section 3): it
// decides what to fetch from each supervisor ("source") and hands every run
// of lines it reads to the store's durable ingest (package ingest), resuming
// from the store's checkpoints.
//
// # Live first
//
// Each source has one goroutine of its own, the live loop. It lists the
// source's chunks, streams the newest one from its checkpoint at once and
// follows it as it grows; when that chunk completes it lists again and moves
// to the newest chunk. After a failure (or when it fell behind) it jumps to
// the newest chunk too, never to the next one in order, so the freshest data
// is stored first. Live loops never wait for the backfill pool: the only
// thing they share with it is the store.
//
// # Backfill
//
// Every listed chunk older than the one the live loop follows, not complete
// in the store and not older than Options.MaxAge (by the time in its id,
// chunklog.IDTime; ids of another making are never filtered by age) is
// queued for backfill. One pool of Options.BackfillWorkers goroutines serves
// every source's queue: each source's newest chunk first, taking sources in
// turn (round robin), and no source gets more than its fair share of the
// workers, ceil(workers / sources with work), so a huge backlog cannot
// starve a small one. A source's backfill starts only once its live stream
// has stored its first data after a connect (or liveGrace passed, for a quiet
// chunk), and pauses while the source is down. After an outage the chunks
// missed are therefore fetched newest first, behind the live chunk: the gap
// fills backwards.
//
// # Failures
//
// Every fetch starts at ingest's checkpoint, with Range. ingest.ErrGap and a
// refused offset restart it from the checkpoint (a refused offset from 0, so
// a chunk read to its last byte can still be marked complete);
// ingest.ErrFull waits, with backoff, and retries the same run; pull.ErrGone
// skips the chunk with a chunk_gone event. Other failures back off
// exponentially with jitter: the live loop per source, the backfill per
// source, so a dead or slow source costs the others nothing but its share of
// workers, each held at most taskTimeout. A live stream silent for longer
// than liveIdle is cut and reconnected. A supervisor presenting a
// certificate other than the pinned one puts the source in state "refused";
// it is retried with backoff, as an operator may fix it.
//
// # Own events
//
// Options.Event receives one line per event, one call at a time, in the
// order they happened (they are built and handed on under one mutex):
//
//	source_connected   source, url: a listing succeeded after a start or failure
//	source_lost        source, error: a connected source failed
//	chunk_live         source, chunk, offset: the first data the live loop
//	                   stored of the chunk it follows, after each connect
//	chunk_done         source, chunk, bytes, new, dup, mode ("live" or
//	                   "backfill"): a chunk is complete in the store; new
//	                   and dup count the lines this process fetched of it
//	chunk_gone         source, chunk, mode: the supervisor no longer has it
//	backfill_progress  source, chunks_left: every progressInterval while a
//	                   source has a backlog, and once when it is empty
//	fetch_error        source, chunk, mode, error, suppressed: at most one
//	                   per source per errorEventInterval
package collect
