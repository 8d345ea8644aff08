package collect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"stele/internal/chunklog"
	"stele/internal/event"
	"stele/internal/ingest"
	"stele/internal/mtls"
	"stele/internal/pull"
	"stele/internal/sources"
)

const (
	modeLive     = "live"
	modeBackfill = "backfill"
)

// source is one supervisor being pulled from.
type source struct {
	c      *Collector
	src    sources.Source
	client *pull.Client
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // the live loop and running backfill tasks

	// Guarded by Collector.pmu: the source's backfill.
	queue     []string        // chunks to backfill, oldest first; taken from the end
	pending   map[string]bool // queued or running
	gone      map[string]bool // answered 404; dropped once older than the listing
	running   int
	ready     bool      // live has stored its first data since connecting
	notBefore time.Time // no task starts before, after a failed one
	bfFails   int       // consecutive failed tasks

	// mu guards st and the sizes of completed chunks.
	mu         sync.Mutex
	st         SourceStatus
	doneBytes  int64
	doneChunks int64

	// Guarded by Collector.emu: fetch_error rate limiting.
	errEventAt time.Time
	suppressed int64
}

// counts are the lines of one chunk this process fetched.
type counts struct{ new, dup int64 }

// live is the source's live loop; see the package doc.
func (s *source) live() {
	defer s.wg.Done()
	defer s.setReady(false)
	c := s.c
	fails := 0
	connected := false
	var cur string // the chunk followed
	var cnt counts // its lines fetched by this process
	for s.ctx.Err() == nil {
		ctx, cancel := context.WithTimeout(s.ctx, listTimeout)
		ids, err := s.client.List(ctx)
		cancel()
		at := "" // the chunk an error is about
		if err == nil && !connected {
			connected = true
			s.connected()
		}
		if err == nil {
			var newest string
			if len(ids) > 0 {
				newest = ids[len(ids)-1]
			}
			s.plan(ids)
			if off, done := c.o.Store.Checkpoint(s.src.Name, newest); newest == "" || done || s.isGone(newest) {
				// Nothing to follow until the supervisor lists a newer chunk.
				s.setLive(newest, off)
				s.setReady(true)
				sleep(s.ctx, c.poll)
				continue
			}
			if newest != cur {
				cur, cnt = newest, counts{}
			}
			var got bool
			at = cur
			got, err = s.follow(cur, &cnt)
			if got {
				fails = 0
			}
			if err == nil {
				continue
			}
		}
		if s.ctx.Err() != nil {
			return
		}
		switch {
		case errors.Is(err, pull.ErrGone):
			s.markGone(at, modeLive)
			continue
		case errors.Is(err, ingest.ErrClosed):
			s.failed(err, StateStopped, connected, at, modeLive)
			return
		}
		state := StateBackoff
		if errors.Is(err, mtls.ErrPinMismatch) {
			state = StateRefused
			err = fmt.Errorf("%w %s of source %s at %s: %w", ErrPinned, s.src.Fingerprint, s.src.Name, s.src.URL, err)
		}
		s.failed(err, state, connected, at, modeLive)
		connected = false
		if !sleep(s.ctx, backoff(fails, c.backoffMin, c.backoffMax)) {
			return
		}
		fails++
	}
}

// plan queues for backfill every listed chunk older than the newest that
// is not complete, not too old and not known already.
func (s *source) plan(ids []string) {
	if len(ids) == 0 {
		return
	}
	c := s.c
	// Chunks older than the oldest listed are gone from the source for
	// good (retention discards the oldest first): their checkpoints go.
	c.o.Store.Forget(s.src.Name, ids[0])
	stored := c.o.Store.Chunks(s.src.Name)
	c.pmu.Lock()
	defer c.pmu.Unlock()
	for id := range s.gone {
		if id < ids[0] {
			delete(s.gone, id) // retention discards the oldest first: it will not be listed again
		}
	}
	added := false
	for _, id := range ids[:len(ids)-1] {
		if stored[id].Complete || s.pending[id] || s.gone[id] || c.tooOld(id) {
			continue
		}
		s.pending[id] = true
		s.queue = append(s.queue, id)
		added = true
	}
	if added {
		slices.Sort(s.queue)
		c.notifyLocked()
	}
	s.mu.Lock()
	s.st.LatestChunk = ids[len(ids)-1]
	s.mu.Unlock()
}

// follow streams chunk id live until it is complete, and reports whether
// any data came.
func (s *source) follow(id string, cnt *counts) (got bool, err error) {
	c := s.c
	ctx, cancel := context.WithCancelCause(s.ctx)
	defer cancel(nil)
	watchdog := time.AfterFunc(c.idle, func() { cancel(ErrIdle) })
	defer watchdog.Stop()
	grace := time.AfterFunc(c.grace, func() { s.setReady(true) })
	defer grace.Stop()
	off, _ := c.o.Store.Checkpoint(s.src.Name, id)
	s.setLive(id, off)
	first := true
	err = s.fetch(ctx, id, modeLive, cnt, func(a ingest.Accepted) {
		got = true
		watchdog.Reset(c.idle)
		s.setLive(id, a.Now.Offset)
		if first && a.New+a.Dup > 0 {
			first = false
			grace.Stop()
			s.setReady(true)
			c.emit("chunk_live", func(b *event.Builder) {
				b.Str("source", s.src.Name)
				b.Str("chunk", id)
				b.Int("offset", a.Now.Offset)
			})
		}
	})
	if err != nil && errors.Is(context.Cause(ctx), ErrIdle) {
		err = fmt.Errorf("%w: nothing for %v on chunk %s: %w", ErrIdle, c.idle, id, err)
	}
	return got, err
}

// fetch reads chunk id from the store's checkpoint to its end, accepting
// every run, and marks it complete. onRun, if not nil, sees each run's
// result.
func (s *source) fetch(ctx context.Context, id, mode string, cnt *counts, onRun func(ingest.Accepted)) error {
	c := s.c
	name := s.src.Name
	fromZero := false
	for tries := 0; ; tries++ {
		off, done := c.o.Store.Checkpoint(name, id)
		if done {
			return nil
		}
		if fromZero {
			off = 0 // Accept skips what is stored; the end can be marked complete
		}
		end := off
		complete, err := s.client.Fetch(ctx, id, off, func(lines []byte, to int64) error {
			a, err := s.accept(ctx, id, to-int64(len(lines)), to, lines, false)
			if err != nil {
				return err
			}
			end = to
			cnt.new += int64(a.New)
			cnt.dup += int64(a.Dup)
			s.mu.Lock()
			s.st.LinesNew += int64(a.New)
			s.st.LinesDup += int64(a.Dup)
			s.mu.Unlock()
			if onRun != nil {
				onRun(a)
			}
			return nil
		})
		if err == nil && complete {
			if _, err := s.accept(ctx, id, end, end, nil, true); err != nil {
				return err
			}
			s.done(id, end, mode, cnt)
			return nil
		}
		retry := errors.Is(err, ingest.ErrGap) || errors.Is(err, pull.ErrBadOffset) && off > 0
		if !retry || tries >= maxRefetch {
			return err
		}
		fromZero = errors.Is(err, pull.ErrBadOffset)
	}
}

// accept hands a run to the store, waiting with backoff while it is full.
func (s *source) accept(ctx context.Context, id string, start, end int64, lines []byte, complete bool) (ingest.Accepted, error) {
	for fails := 0; ; fails++ {
		a, err := s.c.o.Store.Accept(s.src.Name, id, start, end, lines, complete)
		if !errors.Is(err, ingest.ErrFull) {
			return a, err
		}
		if fails == 0 {
			now := s.c.o.Now()
			s.mu.Lock()
			s.st.LastError = "waiting for memory: " + err.Error()
			s.st.LastErrorTime = now
			s.mu.Unlock()
		}
		if !sleep(ctx, backoff(fails, fullMin, fullMax)) {
			return a, fmt.Errorf("collect: waiting for memory: %w", context.Cause(ctx))
		}
	}
}

// done records a completed chunk.
func (s *source) done(id string, size int64, mode string, cnt *counts) {
	s.mu.Lock()
	s.st.ChunksDone++
	s.doneChunks++
	s.doneBytes += size
	s.mu.Unlock()
	s.c.emit("chunk_done", func(b *event.Builder) {
		b.Str("source", s.src.Name)
		b.Str("chunk", id)
		b.Int("bytes", size)
		b.Int("new", cnt.new)
		b.Int("dup", cnt.dup)
		b.Str("mode", mode)
	})
}

// markGone records a chunk the supervisor no longer has, so that it is not
// asked for again.
func (s *source) markGone(id, mode string) {
	s.c.pmu.Lock()
	s.gone[id] = true
	s.c.pmu.Unlock()
	s.mu.Lock()
	s.st.ChunksGone++
	s.mu.Unlock()
	s.c.emit("chunk_gone", func(b *event.Builder) {
		b.Str("source", s.src.Name)
		b.Str("chunk", id)
		b.Str("mode", mode)
	})
}

func (s *source) isGone(id string) bool {
	s.c.pmu.Lock()
	defer s.c.pmu.Unlock()
	return s.gone[id]
}

func (s *source) connected() {
	now := s.c.o.Now()
	s.mu.Lock()
	s.st.State = StateLive
	s.st.ConnectedSince = now
	s.mu.Unlock()
	s.c.emit("source_connected", func(b *event.Builder) {
		b.Str("source", s.src.Name)
		b.Str("url", s.src.URL)
	})
}

// failed records err; a connected source is lost, which pauses its
// backfill until the live loop has connected and stored data again.
func (s *source) failed(err error, state string, connected bool, chunk, mode string) {
	now := s.c.o.Now()
	s.mu.Lock()
	s.st.State = state
	s.st.ConnectedSince = time.Time{}
	s.st.LastError = err.Error()
	s.st.LastErrorTime = now
	s.mu.Unlock()
	if connected {
		s.setReady(false)
		s.c.emit("source_lost", func(b *event.Builder) {
			b.Str("source", s.src.Name)
			b.Str("error", err.Error())
		})
		return
	}
	s.fetchError(err, chunk, mode)
}

// fetchError writes a fetch_error event unless one was written for the
// source less than errorEventInterval ago.
func (s *source) fetchError(err error, chunk, mode string) {
	c := s.c
	if c.o.Event == nil {
		return
	}
	c.emu.Lock()
	defer c.emu.Unlock()
	now := c.o.Now()
	if !s.errEventAt.IsZero() && now.Sub(s.errEventAt) < errorEventInterval {
		s.suppressed++
		return
	}
	s.errEventAt = now
	b := event.Begin(nil, now.UnixNano(), "fetch_error")
	b.Str("source", s.src.Name)
	if chunk != "" {
		b.Str("chunk", chunk)
	}
	b.Str("mode", mode)
	b.Str("error", err.Error())
	b.Int("suppressed", s.suppressed)
	s.suppressed = 0
	c.o.Event(b.End())
}

// setLive records the chunk followed and how much of it is stored.
func (s *source) setLive(id string, off int64) {
	s.mu.Lock()
	s.st.LiveChunk = id
	s.st.LiveOffset = off
	s.mu.Unlock()
}

// setReady lets the source's backfill run, or pauses it.
func (s *source) setReady(ready bool) {
	c := s.c
	c.pmu.Lock()
	defer c.pmu.Unlock()
	if s.ready != ready {
		s.ready = ready
		c.notifyLocked()
	}
}

// status returns a snapshot of s. The backlog's partial offsets come
// from the store.
func (s *source) status() SourceStatus {
	c := s.c
	c.pmu.Lock()
	backlog := make([]string, 0, len(s.pending)) // queued and running
	for id := range s.pending {
		backlog = append(backlog, id)
	}
	running := s.running
	c.pmu.Unlock()
	s.mu.Lock()
	st := s.st
	mean := int64(chunklog.MaxChunkBytes)
	if s.doneChunks > 0 {
		mean = s.doneBytes / s.doneChunks
	}
	s.mu.Unlock()
	st.BacklogChunks = len(backlog)
	st.BackfillRunning = running
	stored := c.o.Store.Chunks(s.src.Name)
	for _, id := range backlog {
		off := stored[id].Offset
		if off > 0 {
			st.BacklogStarted++
		}
		st.BacklogBytesEstimate += max(mean-off, 0)
	}
	return st
}
