package collect

import (
	"context"
	"crypto/tls"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"stele/internal/chunklog"
	"stele/internal/event"
	"stele/internal/ingest"
	"stele/internal/pull"
	"stele/internal/sources"
)

var (
	// ErrPinned reports a supervisor whose server certificate is not the
	// one its sources line pins.
	ErrPinned = errors.New("collect: supervisor certificate does not match the pinned fingerprint")
	// ErrIdle reports a live stream cut by the watchdog after liveIdle
	// without data.
	ErrIdle = errors.New("collect: live stream silent too long")
)

// States of a source, as Status reports them.
const (
	StateConnecting = "connecting" // started, no listing yet
	StateLive       = "live"       // listed; following the newest chunk
	StateBackoff    = "backoff"    // waiting to retry after a failure
	StateRefused    = "refused"    // the TLS handshake failed on the pinned fingerprint; retrying
	StateStopped    = "stopped"    // the store refused to accept more (ingest.ErrClosed)
)

// Options configures a Collector.
type Options struct {
	Cert            tls.Certificate // the store's client certificate
	Store           *ingest.Store   // required
	BackfillWorkers int             // backfill pool shared by all sources; 0 means 4
	MaxAge          time.Duration   // chunks whose id time is older are not fetched; 0 = no limit
	// Event receives each own event line (one JSON object and '\n'); may
	// be nil. Calls come one at a time from the Collector's goroutines, in
	// order; it must not block for long or call the Collector.
	Event func(line []byte)
	Now   func() time.Time // default time.Now
}

// SourceStatus is what GET /status shows of a source.
type SourceStatus struct {
	Name           string    `json:"name"`
	URL            string    `json:"url"`
	State          string    `json:"state"`
	ConnectedSince time.Time `json:"connected_since,omitzero"` // zero while not connected
	LatestChunk    string    `json:"latest_chunk,omitempty"`   // newest id in the last listing
	LiveChunk      string    `json:"live_chunk,omitempty"`     // the chunk the live loop follows
	LiveOffset     int64     `json:"live_offset"`              // bytes of it stored

	// The backlog: listed chunks older than the live one that are not
	// complete in the store, queued or being fetched.
	BacklogChunks   int `json:"backlog_chunks"`
	BacklogStarted  int `json:"backlog_started"` // of those, partly stored already
	BackfillRunning int `json:"backfill_running"`
	// BacklogBytesEstimate guesses the bytes behind: per backlog chunk, the
	// mean size of this source's chunks completed so far (or the 1 MB
	// maximum before any) less what is stored of it. Sizes of chunks not
	// fetched are unknown until they are.
	BacklogBytesEstimate int64 `json:"backlog_bytes_estimate"`

	ChunksDone    int64     `json:"chunks_done"` // completed by this process
	ChunksGone    int64     `json:"chunks_gone"` // discarded by the supervisor before they were complete
	LinesNew      int64     `json:"lines_new"`
	LinesDup      int64     `json:"lines_dup"`
	LastError     string    `json:"last_error,omitempty"`
	LastErrorTime time.Time `json:"last_error_time,omitzero"`
}

// Collector pulls from a set of sources into an ingest.Store.
type Collector struct {
	o       Options
	workers int
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup // the pool's workers and the progress reporter

	// The tunables of limits.go, kept here so that tests can shorten them
	// before the first SetSources.
	backoffMin, backoffMax time.Duration
	idle, grace, poll      time.Duration

	// smu guards srcs and closed; SetSources and Close hold it throughout,
	// so they run one at a time.
	smu    sync.Mutex
	srcs   map[string]*source
	closed bool

	// pmu guards the backfill schedule: ring, next, changed, and the fields
	// of every source marked as guarded by it.
	pmu     sync.Mutex
	ring    []*source     // sources in round-robin order
	next    int           // index in ring to look at first
	changed chan struct{} // closed and replaced when there may be new work

	// emu orders own events: each is built and handed on under it.
	emu sync.Mutex
}

// New returns a Collector with no sources; SetSources starts them.
func New(o Options) *Collector {
	if o.Store == nil {
		panic("collect: Options.Store is nil")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Collector{
		o:          o,
		workers:    o.BackfillWorkers,
		backoffMin: backoffMin,
		backoffMax: backoffMax,
		idle:       liveIdle,
		grace:      liveGrace,
		poll:       livePoll,
		srcs:       map[string]*source{},
		changed:    make(chan struct{}),
	}
	if c.workers <= 0 {
		c.workers = defaultBackfillWorkers
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(c.workers + 1)
	for range c.workers {
		go c.worker()
	}
	go c.reporter()
	return c
}

// SetSources makes srcs the set of sources pulled from: new names start,
// missing ones stop (and are waited for), and those whose URL or
// fingerprint changed restart. Status keeps no history of stopped sources.
func (c *Collector) SetSources(srcs []sources.Source) {
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.closed {
		return
	}
	old := make([]sources.Source, 0, len(c.srcs))
	for _, s := range c.srcs {
		old = append(old, s.src)
	}
	added, removed, changed := sources.Diff(old, srcs)
	for _, src := range slices.Concat(removed, changed) {
		c.stop(c.srcs[src.Name])
		delete(c.srcs, src.Name)
	}
	for _, src := range slices.Concat(added, changed) {
		c.srcs[src.Name] = c.start(src)
	}
}

// Close stops every source and the pool and waits for their goroutines.
// Data stored stays stored; the store's checkpoints say where to resume.
func (c *Collector) Close() {
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	for name, s := range c.srcs {
		c.stop(s)
		delete(c.srcs, name)
	}
	c.cancel()
	c.wg.Wait()
}

// Status returns every source's status, sorted by name.
func (c *Collector) Status() []SourceStatus {
	c.smu.Lock()
	list := make([]*source, 0, len(c.srcs))
	for _, s := range c.srcs {
		list = append(list, s)
	}
	c.smu.Unlock()
	slices.SortFunc(list, func(a, b *source) int { return strings.Compare(a.src.Name, b.src.Name) })
	out := make([]SourceStatus, 0, len(list))
	for _, s := range list {
		out = append(out, s.status())
	}
	return out
}

func (c *Collector) start(src sources.Source) *source {
	s := &source{
		c:       c,
		src:     src,
		client:  pull.NewClient(src, c.o.Cert),
		pending: map[string]bool{},
		gone:    map[string]bool{},
		st:      SourceStatus{Name: src.Name, URL: src.URL, State: StateConnecting},
	}
	s.ctx, s.cancel = context.WithCancel(c.ctx)
	c.pmu.Lock()
	c.ring = append(c.ring, s)
	c.pmu.Unlock()
	s.wg.Add(1)
	go s.live()
	return s
}

// stop cancels s, takes it off the schedule so no new backfill task starts,
// and waits for its live loop and running tasks.
func (c *Collector) stop(s *source) {
	s.cancel()
	c.pmu.Lock()
	if i := slices.Index(c.ring, s); i >= 0 {
		c.ring = slices.Delete(c.ring, i, i+1)
		if c.next > i {
			c.next--
		}
	}
	c.pmu.Unlock()
	s.wg.Wait()
	s.client.Close()
}

// notifyLocked wakes idle workers. c.pmu must be held.
func (c *Collector) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// emit builds an own event and hands it to Options.Event.
func (c *Collector) emit(name string, fill func(b *event.Builder)) {
	if c.o.Event == nil {
		return
	}
	c.emu.Lock()
	defer c.emu.Unlock()
	b := event.Begin(nil, c.o.Now().UnixNano(), name)
	fill(&b)
	c.o.Event(b.End())
}

// backoff returns the wait before attempt fails+1: exponential from lo,
// capped at hi, with the upper half jittered so that sources failing
// together do not retry in step.
func backoff(fails int, lo, hi time.Duration) time.Duration {
	d := hi
	if fails < 30 && lo<<fails < hi {
		d = lo << fails
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// tooOld reports whether chunk id is older than Options.MaxAge.
func (c *Collector) tooOld(id string) bool {
	if c.o.MaxAge <= 0 {
		return false
	}
	t, ok := chunklog.IDTime(id)
	return ok && c.o.Now().Sub(t) > c.o.MaxAge
}
