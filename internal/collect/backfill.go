package collect

import (
	"context"
	"errors"
	"slices"
	"time"

	"stele/internal/event"
	"stele/internal/ingest"
	"stele/internal/pull"
)

// worker is one of the backfill pool's goroutines.
func (c *Collector) worker() {
	defer c.wg.Done()
	for {
		s, id, wait, changed := c.take()
		if s == nil {
			if !c.idleWait(wait, changed) {
				return
			}
			continue
		}
		c.backfill(s, id)
	}
}

// idleWait waits for changed, or wait if not 0, and reports false once the
// Collector is closing.
func (c *Collector) idleWait(wait time.Duration, changed <-chan struct{}) bool {
	var due <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		due = t.C
	}
	select {
	case <-c.ctx.Done():
		return false
	case <-changed:
	case <-due:
	}
	return true
}

// take picks the next backfill task: the newest queued chunk of the next
// source in turn that is ready, not backing off and below its fair share.
// With none, it returns how long until a backoff ends (0 for no end) and a
// channel closed when the schedule changes.
func (c *Collector) take() (s *source, id string, wait time.Duration, changed <-chan struct{}) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	busy := 0 // sources with work queued or running
	for _, s := range c.ring {
		if s.ready && len(s.queue) > 0 || s.running > 0 {
			busy++
		}
	}
	share := (c.workers + busy - 1) / max(busy, 1)
	now := c.o.Now()
	for i := range c.ring {
		j := (c.next + i) % len(c.ring)
		s := c.ring[j]
		if !s.ready || len(s.queue) == 0 || s.running >= share {
			continue
		}
		if d := s.notBefore.Sub(now); d > 0 {
			if wait == 0 || d < wait {
				wait = d
			}
			continue
		}
		id := s.queue[len(s.queue)-1]
		s.queue = s.queue[:len(s.queue)-1]
		s.running++
		s.wg.Add(1) // before stop can wait: stop takes s off the ring under pmu first
		c.next = j + 1
		return s, id, 0, nil
	}
	return nil, "", wait, c.changed
}

// backfill fetches chunk id of s, then reschedules it if that failed.
func (c *Collector) backfill(s *source, id string) {
	defer s.wg.Done()
	ctx, cancel := context.WithTimeout(s.ctx, taskTimeout)
	var cnt counts
	err := s.fetch(ctx, id, modeBackfill, &cnt, nil)
	cancel()
	if errors.Is(err, pull.ErrGone) {
		s.markGone(id, modeBackfill)
		err = nil
	}
	failed := err != nil && s.ctx.Err() == nil && !errors.Is(err, ingest.ErrClosed)
	if failed {
		now := c.o.Now()
		s.mu.Lock()
		s.st.LastError = err.Error()
		s.st.LastErrorTime = now
		s.mu.Unlock()
		s.fetchError(err, id, modeBackfill)
	}
	c.pmu.Lock()
	defer c.pmu.Unlock()
	s.running--
	if failed {
		s.queue = append(s.queue, id)
		slices.Sort(s.queue)
		s.notBefore = c.o.Now().Add(backoff(s.bfFails, c.backoffMin, c.backoffMax))
		s.bfFails++
	} else {
		delete(s.pending, id)
		if err == nil {
			s.bfFails = 0
		}
	}
	c.notifyLocked()
}

// reporter writes backfill_progress events.
func (c *Collector) reporter() {
	defer c.wg.Done()
	t := time.NewTicker(progressInterval)
	defer t.Stop()
	last := map[*source]int{}
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		c.pmu.Lock()
		left := make(map[*source]int, len(c.ring))
		for _, s := range c.ring {
			left[s] = len(s.pending)
		}
		c.pmu.Unlock()
		for s, n := range left {
			if n == 0 && last[s] == 0 {
				continue
			}
			c.emit("backfill_progress", func(b *event.Builder) {
				b.Str("source", s.src.Name)
				b.Int("chunks_left", int64(n))
			})
		}
		last = left
	}
}
