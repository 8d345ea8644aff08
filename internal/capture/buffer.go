package capture

import "sync"

// Drops counts lines the Buffer refused because it was full.
type Drops struct {
	Lines int64
	Bytes int64
}

// Buffer is a bounded queue of event lines between readers and one writer.
type Buffer struct {
	limit int

	// mu guards the fields below.
	mu     sync.Mutex
	cond   *sync.Cond
	data   []byte
	spare  []byte
	drops  Drops
	closed bool
}

// NewBuffer returns a Buffer that holds at most limit bytes.
func NewBuffer(limit int) *Buffer {
	b := &Buffer{limit: limit}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// Put queues n whole lines, or drops all of them if they do not fit. It
// takes ownership of lines and returns an empty slice for the caller to
// fill next: when the queue is empty the two swap, saving a copy on the hot
// path.
func (b *Buffer) Put(lines []byte, n int) (next []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || len(b.data)+len(lines) > b.limit {
		b.drops.Lines += int64(n)
		b.drops.Bytes += int64(len(lines))
		return lines[:0]
	}
	if len(b.data) == 0 {
		next, b.data = b.data[:0], lines
		b.cond.Signal()
		return next
	}
	b.data = append(b.data, lines...)
	return lines[:0]
}

// Take waits for queued lines and returns them with the drops counted since
// the last Take. The returned slice is valid until the next Take. After
// Close it returns what is left, then ok == false.
func (b *Buffer) Take() (lines []byte, drops Drops, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.data) == 0 && b.drops == (Drops{}) && !b.closed {
		b.cond.Wait()
	}
	if len(b.data) == 0 && b.drops == (Drops{}) {
		return nil, Drops{}, false
	}
	// The slice handed out last time is free again now.
	lines = b.data
	b.data, b.spare = b.spare[:0], lines
	drops, b.drops = b.drops, Drops{}
	return lines, drops, true
}

// Close wakes the writer; lines already queued are still returned by Take.
func (b *Buffer) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
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
