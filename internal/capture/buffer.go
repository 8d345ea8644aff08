package capture

import (
	"sync"
	"time"
)

// Drops counts lines the Buffer refused because it was full.
type Drops struct {
	Lines int64
	Bytes int64
}

// Buffer is a bounded queue of event lines between readers and one writer.
//
// With a write function (SetWriter), a reader whose lines find the queue
// empty and no write under way writes them itself: the common case of a
// quiet disk then costs no hand-off between goroutines. If such a write
// stalls, a watchdog lets the reader's stream be read on by another
// goroutine into the queue, so the program is never kept waiting on the
// disk (see Reader).
type Buffer struct {
	limit int
	write func([]byte) bool

	// mu guards the fields below.
	mu      sync.Mutex
	cond    *sync.Cond
	data    []byte
	spare   []byte
	drops   Drops
	closed  bool
	writing writer        // who writes lines taken from the Buffer now
	direct  *directWrite  // the write a Put is doing itself, if any
	failed  bool          // a direct write gave up: only the writer writes from now on
	stop    chan struct{} // closed by Close; ends the watchdog
}

// writer says who is writing lines that left the Buffer.
type writer uint8

const (
	nobody    writer = iota
	taker            // the caller of Take, until it calls Take again
	putCaller        // a Put writing its own lines
)

// directWrite is a write a Put is doing itself; each is a new one, so the
// watchdog tells writes apart by pointer.
type directWrite struct {
	rescue  func() // lets the stream be read on elsewhere
	rescued bool
}

// NewBuffer returns a Buffer that holds at most limit bytes.
func NewBuffer(limit int) *Buffer {
	b := &Buffer{limit: limit, stop: make(chan struct{})}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// SetWriter lets Put write lines itself with write when nothing is queued
// or being written, instead of waking the writer. write reports false when
// it gave up on the lines (as the writer's own write would); Put then stops
// writing directly. It also starts the watchdog that rescues a stream whose
// direct write stalls, until Close. Call it at most once, before any Put.
func (b *Buffer) SetWriter(write func([]byte) bool) {
	b.write = write
	go b.watch()
}

// Put queues n whole lines, or drops all of them if they do not fit. It
// takes ownership of lines and returns an empty slice for the caller to
// fill next: when the queue is empty the two swap, saving a copy on the hot
// path.
//
// With a write function set, a rescue function given, and nothing queued
// or being written, Put writes the lines itself. If that write stalls for longer than
// directStall, the watchdog calls rescue, at most once, from another
// goroutine, and Put returns rescued == true once the write is done: the
// caller has been replaced and must not touch what rescue took over.
func (b *Buffer) Put(lines []byte, n int, rescue func()) (next []byte, rescued bool) {
	b.mu.Lock()
	if b.closed || len(b.data)+len(lines) > b.limit {
		b.drops.Lines += int64(n)
		b.drops.Bytes += int64(len(lines))
		b.mu.Unlock()
		return lines[:0], false
	}
	if rescue != nil && b.write != nil && !b.failed && b.writing == nobody && len(b.data) == 0 && b.drops == (Drops{}) {
		d := &directWrite{rescue: rescue}
		b.writing, b.direct = putCaller, d
		b.mu.Unlock()
		ok := b.write(lines)
		b.mu.Lock()
		b.writing, b.direct = nobody, nil
		if !ok {
			b.failed = true
		}
		if len(b.data) > 0 || b.drops != (Drops{}) || b.closed {
			b.cond.Signal()
		}
		rescued := d.rescued
		b.mu.Unlock()
		return lines[:0], rescued
	}
	defer b.mu.Unlock()
	if len(b.data) == 0 {
		next, b.data = b.data[:0], lines
		b.cond.Signal()
		return next, false
	}
	b.data = append(b.data, lines...)
	return lines[:0], false
}

// watch rescues a stream whose direct write has been running for at least
// one whole check interval.
func (b *Buffer) watch() {
	t := time.NewTicker(directStall)
	defer t.Stop()
	var seen *directWrite // the direct write in progress at the last check
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		b.mu.Lock()
		if d := b.direct; d != seen {
			seen = d
		} else if d != nil && !d.rescued {
			d.rescued = true
			d.rescue()
		}
		b.mu.Unlock()
	}
}

// Take waits for queued lines and returns them with the drops counted since
// the last Take. The returned slice is valid until the next Take, and the
// caller is taken to be writing them until then. After Close it returns
// what is left, then ok == false.
func (b *Buffer) Take() (lines []byte, drops Drops, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.writing == taker {
		b.writing = nobody
	}
	for b.writing != nobody || (len(b.data) == 0 && b.drops == (Drops{}) && !b.closed) {
		b.cond.Wait()
	}
	if len(b.data) == 0 && b.drops == (Drops{}) {
		return nil, Drops{}, false
	}
	// The slice handed out last time is free again now.
	lines = b.data
	b.data, b.spare = b.spare[:0], lines
	drops, b.drops = b.drops, Drops{}
	b.writing = taker
	return lines, drops, true
}

// Close wakes the writer and stops the watchdog; lines already queued are
// still returned by Take.
func (b *Buffer) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	close(b.stop)
	b.cond.Broadcast()
}

// PutReserved queues the supervisor's own events. They may use ownReserve
// bytes beyond the limit, so that a flood of program output cannot make the
// supervisor lose the events that explain it.
func (b *Buffer) PutReserved(lines []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || len(b.data)+len(lines) > b.limit+ownReserve {
		b.drops.Lines++
		b.drops.Bytes += int64(len(lines))
		return
	}
	wake := len(b.data) == 0
	b.data = append(b.data, lines...)
	if wake {
		b.cond.Signal()
	}
}

// Closed reports whether Close was called.
func (b *Buffer) Closed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}
