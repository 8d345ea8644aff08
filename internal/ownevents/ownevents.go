// Package ownevents records the store's own events (sources connected and
// lost, chunks done, segments written, merged and deleted, queries, errors)
// in the store itself, under _source "store" (DESIGN section 3), through
// the same durable, exactly-once ingest as fetched events.
//
// Events are batched and accepted every flushInterval as runs of a chunk
// of their own, named like a supervisor's chunks (chunklog.NextID), a new
// one every chunkBytes; so they are checkpointed, de-duplicated and replayed
// like any source's. An event still in the batch when the store is killed
// is lost: at most flushInterval of them. If the store cannot accept them
// (memory full), at most maxPending bytes wait; beyond that events are
// dropped and counted, and an events_dropped event says how many.
package ownevents

import (
	"errors"
	"strconv"
	"sync"
	"time"

	"stele/internal/chunklog"
	"stele/internal/event"
	"stele/internal/ingest"
	"stele/internal/sources"
)

const (
	// flushInterval is how often batched events are accepted: short, so
	// they are queryable and durable about as soon as fetched events.
	flushInterval = 100 * time.Millisecond
	// chunkBytes is where a new chunk of own events starts, as a
	// supervisor's chunks close under 1 MB.
	chunkBytes = 1 << 20
	// maxPending bounds the events waiting while the store refuses them.
	maxPending = 4 << 20
)

// Recorder batches own events into the store.
type Recorder struct {
	store *ingest.Store
	now   func() time.Time
	stop  chan struct{}
	done  chan struct{}

	// mu guards the fields below.
	mu      sync.Mutex
	buf     []byte // events not yet accepted
	dropped int64  // events dropped since the last events_dropped
	chunk   string // the chunk being written
	off     int64  // its accepted length
	err     error  // the last failure to accept, for Err
}

// Start begins recording into store. now is the clock (nil: time.Now).
func Start(store *ingest.Store, now func() time.Time) *Recorder {
	if now == nil {
		now = time.Now
	}
	r := &Recorder{store: store, now: now, stop: make(chan struct{}), done: make(chan struct{})}
	// A new chunk, after every chunk of earlier runs even if the clock
	// went back since.
	last := ""
	for id := range store.Chunks(sources.ReservedName) {
		if id > last {
			last = id
		}
	}
	r.chunk = chunklog.NextID(last, now())
	go r.loop()
	return r
}

// Event records an event named name, its fields added by fill.
func (r *Recorder) Event(name string, fill func(b *event.Builder)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) >= maxPending {
		r.dropped++
		return
	}
	b := event.Begin(r.buf, r.now().UnixNano(), name)
	if fill != nil {
		fill(&b)
	}
	r.buf = b.End()
}

// Line records an event line built elsewhere (one JSON object and '\n').
func (r *Recorder) Line(line []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf)+len(line) > maxPending || len(line) == 0 || line[len(line)-1] != '\n' {
		r.dropped++
		return
	}
	r.buf = append(r.buf, line...)
}

// Err returns the last failure to accept events, or nil.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *Recorder) loop() {
	defer close(r.done)
	t := time.NewTicker(flushInterval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			r.flush()
			return
		case <-t.C:
			r.flush()
		}
	}
}

// flush accepts the batched events. Only the loop calls it, so the chunk
// and offset change only here.
func (r *Recorder) flush() {
	r.mu.Lock()
	if r.dropped > 0 && len(r.buf) < maxPending {
		b := event.Begin(r.buf, r.now().UnixNano(), "events_dropped")
		b.Int("count", r.dropped)
		b.Str("reason", "store not accepting its own events")
		r.buf = b.End()
		r.dropped = 0
	}
	batch := r.buf
	r.buf = nil
	chunk, off := r.chunk, r.off
	r.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	_, err := r.store.Accept(sources.ReservedName, chunk, off, off+int64(len(batch)), batch, false)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		// Keep the batch for the next try, ahead of what came since.
		r.err = err
		if errors.Is(err, ingest.ErrClosed) {
			return
		}
		r.buf = append(batch, r.buf...)
		return
	}
	r.err = nil
	r.off += int64(len(batch))
	if r.off >= chunkBytes {
		if _, err := r.store.Accept(sources.ReservedName, chunk, r.off, r.off, nil, true); err == nil {
			r.chunk, r.off = chunklog.NextID(chunk, r.now()), 0
		}
	}
}

// Close records what is batched and stops. The store must still be open.
func (r *Recorder) Close() {
	close(r.stop)
	<-r.done
}

// Chunk returns the chunk being written, for tests and /status.
func (r *Recorder) Chunk() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.chunk + "@" + strconv.FormatInt(r.off, 10)
}
