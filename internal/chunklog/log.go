package chunklog

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"stele/internal/durable"
	"stele/internal/event"
)

var (
	// ErrLocked reports that another process has the directory open.
	ErrLocked = errors.New("chunklog: directory is in use by another process")
	// ErrClosed reports use of a Log after Close.
	ErrClosed = errors.New("chunklog: log closed")
	// ErrRecordTooLarge reports a line of MaxRecordBytes or more.
	ErrRecordTooLarge = errors.New("chunklog: record too large")
	// ErrNotLines reports a batch that does not end in '\n'.
	ErrNotLines = errors.New("chunklog: batch does not end on a line boundary")
	// ErrNotFound reports a chunk that was discarded or never existed.
	ErrNotFound = errors.New("chunklog: no such chunk")
)

// Options configures a Log. Zero fields take the defaults of DESIGN
// section 2.
type Options struct {
	Dir           string
	ChunkBytes    int64         // a chunk closes before it would reach this size; default and maximum MaxChunkBytes
	ChunkAge      time.Duration // a non-empty chunk closes at this age; default 10m
	MaxAge        time.Duration // closed chunks older than this are discarded; default 168h
	MaxBytes      int64         // the oldest chunks are discarded while the total exceeds this; default 500 MB, negative for no limit
	FsyncInterval time.Duration // how often the latest chunk is fsynced; default 1s

	// Now is the wall clock, used for ids and event times; default time.Now.
	Now func() time.Time
	// Mono is a monotonic clock, used for ages so that wall-clock jumps
	// neither delete chunks early nor keep them forever; default the time
	// since the process started.
	Mono func() time.Duration
	// FreeBytes reports the free space of the file system holding Dir;
	// default statfs(2).
	FreeBytes func() (uint64, error)

	// noFsync skips fsync(2), for tests that damage files thousands of
	// times and do not test durability.
	noFsync bool
}

// Info describes one chunk.
type Info struct {
	ID     string
	Size   int64
	Lines  int64
	Closed bool
	ETag   [16]byte // xxh3-128 of the chunk; set when Closed
}

// closedChunk is what the Log keeps about a chunk that no longer grows.
type closedChunk struct {
	Info
	closedMono time.Duration // Mono() when it closed; earlier than start for chunks of earlier runs
	// regions are its checksums as computed when it was written (or
	// verified on Open): readers check bytes against them even before the
	// .sum file is on disk.
	regions []region
}

// openChunk is the latest chunk.
type openChunk struct {
	id         string
	f          *os.File
	size       int64
	lines      int64
	openedMono time.Duration
	sum        *summer
	dirty      bool // written since the last fsync
	newInDir   bool // its directory entry may not be durable yet
}

// Log is an open chunk directory. Its methods are safe for concurrent use.
type Log struct {
	opts   Options
	lock   *os.File
	stop   chan struct{}
	wg     sync.WaitGroup
	closer sync.Once

	closing    chan closeJob // closed chunks waiting for fsync and .sum
	closerDone chan struct{}

	// mu guards the fields below.
	mu       sync.Mutex
	closed   []closedChunk // oldest first
	cur      *openChunk    // nil only after a failed rotation or Close
	lastID   uint64
	reserved uint64 // ids up to this are durably reserved in the lock file
	total    int64  // bytes of all chunks on disk
	changed  chan struct{}
	watched  bool
	done     bool
	closeErr error // chunks that could not be made durable, for Close
}

func (o *Options) setDefaults() error {
	if o.Dir == "" {
		return errors.New("chunklog: no directory")
	}
	if o.ChunkBytes == 0 {
		o.ChunkBytes = MaxChunkBytes
	}
	if o.ChunkBytes < MinChunkBytes || o.ChunkBytes > MaxChunkBytes {
		return fmt.Errorf("chunklog: chunk size %d outside [%d, %d]", o.ChunkBytes, MinChunkBytes, MaxChunkBytes)
	}
	if o.ChunkAge == 0 {
		o.ChunkAge = 10 * time.Minute
	}
	if o.MaxAge == 0 {
		o.MaxAge = 168 * time.Hour
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = 500_000_000
	}
	if o.FsyncInterval == 0 {
		o.FsyncInterval = time.Second
	}
	if o.ChunkAge < 0 || o.MaxAge < 0 || o.FsyncInterval < 0 {
		return errors.New("chunklog: negative duration")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Mono == nil {
		start := time.Now()
		o.Mono = func() time.Duration { return time.Since(start) }
	}
	if o.FreeBytes == nil {
		dir := o.Dir
		o.FreeBytes = func() (uint64, error) {
			var st syscall.Statfs_t
			if err := syscall.Statfs(dir, &st); err != nil {
				return 0, err
			}
			return st.Bavail * uint64(st.Bsize), nil
		}
	}
	return nil
}

// Open opens or creates the chunk directory, recovers what a crash left,
// closes the chunk that was latest and starts a new one. Damaged chunks are
// repaired and reported as events in the log, never as an error.
func Open(opts Options) (*Log, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("chunklog: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(opts.Dir, "lock"), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("chunklog: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("%w: %s", ErrLocked, opts.Dir)
	}
	l := &Log{
		opts:       opts,
		lock:       lock,
		stop:       make(chan struct{}),
		changed:    make(chan struct{}),
		closing:    make(chan closeJob, maxPendingCloses),
		closerDone: make(chan struct{}),
	}
	pending, err := l.recover()
	if err == nil {
		err = l.rotateLocked("")
	}
	if err != nil {
		lock.Close()
		return nil, err
	}
	for _, ev := range pending {
		if _, err := l.appendLocked(ev); err != nil {
			l.closeFiles()
			return nil, err
		}
	}
	l.retainLocked()
	l.wg.Add(2)
	go l.closerLoop()
	go l.every(l.opts.FsyncInterval, l.syncLatest)
	go l.every(housekeepingInterval, l.housekeep)
	return l, nil
}

func (l *Log) path(name string) string { return filepath.Join(l.opts.Dir, name) }

func (l *Log) nowNS() int64 { return l.opts.Now().UnixNano() }

// nextIDLocked returns a fresh id: later than every id before, even if the
// wall clock went backwards or a crash lost the newest chunk's directory
// entry. Ids are reserved ahead in the lock file, made durable before any
// of them is used: one fsync per idReserve of ids rather than one per chunk.
func (l *Log) nextIDLocked() (string, error) {
	n := uint64(max(l.opts.Now().UnixMicro(), 0))
	if n <= l.lastID {
		n = l.lastID + 1
	}
	if n > l.reserved {
		r := n + uint64(idReserve/time.Microsecond)
		if _, err := l.lock.WriteAt([]byte(formatID(r)), 0); err != nil {
			return "", fmt.Errorf("chunklog: reserve ids: %w", err)
		}
		if err := l.fsync(l.lock); err != nil {
			return "", fmt.Errorf("chunklog: reserve ids: %w", err)
		}
		l.reserved = r
	}
	l.lastID = n
	return formatID(n), nil
}

// Write appends a batch of whole lines, each ending in '\n', closing chunks
// as they fill, and returns how many bytes of the batch are in the log: on
// an error the caller retries only p[n:], so nothing is written twice. The
// bytes written are in the kernel: a kill of the process no longer loses
// them.
func (l *Log) Write(p []byte) (n int, err error) {
	if len(p) == 0 {
		return 0, nil
	}
	if p[len(p)-1] != '\n' {
		return 0, ErrNotLines
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return 0, ErrClosed
	}
	return l.appendLocked(p)
}

// Append is Write for callers that treat any error as a failure of the
// whole batch.
func (l *Log) Append(batch []byte) error {
	_, err := l.Write(batch)
	return err
}

func (l *Log) appendLocked(batch []byte) (written int, err error) {
	fresh := false // the latest chunk holds at most the events of its own opening
	for len(batch) > 0 {
		if l.cur == nil {
			if err := l.rotateLocked(""); err != nil {
				return written, err
			}
			if l.cur == nil {
				return written, ErrClosed
			}
			fresh = true
		}
		// Room is kept for the log's own events (the shutdown event goes
		// into the chunk it closes), so a chunk stays under ChunkBytes.
		room := l.opts.ChunkBytes - 1 - ownEventReserve - l.cur.size
		if int64(len(batch)) <= room {
			if err := l.writeLocked(batch, true); err != nil {
				return written, err
			}
			return written + len(batch), nil
		}
		n := fitLines(batch, room)
		if n == 0 {
			if !fresh && l.cur.size > 0 {
				if err := l.rotateLocked("bytes"); err != nil {
					return written, err
				}
				if l.cur == nil {
					return written, ErrClosed
				}
				fresh = true
				continue
			}
			// A line larger than a whole chunk gets a chunk of its own.
			n = bytes.IndexByte(batch, '\n') + 1
			if n > MaxRecordBytes {
				return written, ErrRecordTooLarge
			}
		}
		if err := l.writeLocked(batch[:n], true); err != nil {
			return written, err
		}
		written += n
		batch = batch[n:]
		if err := l.rotateLocked("bytes"); err != nil {
			return written, err
		}
		fresh = true
	}
	return written, nil
}

// fitLines returns the length of the longest prefix of whole lines of batch
// that is at most room bytes.
func fitLines(batch []byte, room int64) int {
	if room <= 0 {
		return 0
	}
	if int64(len(batch)) < room {
		room = int64(len(batch))
	}
	return bytes.LastIndexByte(batch[:room], '\n') + 1
}

// writeLocked appends whole lines to the latest chunk. A failed write is
// undone, so a chunk never holds a torn line. When the disk is full and
// mayDiscard is set, the oldest chunk is discarded and the write tried once
// more; the log's own events never discard, so they cannot cascade.
func (l *Log) writeLocked(p []byte, mayDiscard bool) error {
	if l.cur == nil {
		if err := l.rotateLocked(""); err != nil {
			return err
		}
		if l.cur == nil {
			return ErrClosed
		}
	}
	c := l.cur
	var discarded *closedChunk
	for {
		_, err := c.f.Write(p)
		if err == nil {
			break
		}
		// Undo a partial write so the chunk keeps ending on a line boundary.
		if terr := c.f.Truncate(c.size); terr != nil {
			return fmt.Errorf("chunklog: write %s: %w (and undo failed: %v)", c.id, err, terr)
		}
		if _, serr := c.f.Seek(c.size, 0); serr != nil {
			return fmt.Errorf("chunklog: write %s: %w", c.id, serr)
		}
		if errors.Is(err, syscall.ENOSPC) && mayDiscard && discarded == nil && len(l.closed) > 0 {
			old := l.dropOldestLocked()
			discarded = &old
			continue
		}
		if discarded != nil {
			l.discardEventLocked(*discarded, "disk-full")
		}
		return fmt.Errorf("chunklog: write %s: %w", c.id, err)
	}
	c.sum.write(p)
	c.size += int64(len(p))
	c.lines += int64(bytes.Count(p, []byte{'\n'}))
	c.dirty = true
	l.total += int64(len(p))
	l.notifyLocked()
	if discarded != nil {
		l.discardEventLocked(*discarded, "disk-full")
	}
	return nil
}

// ownEventLocked records an event of the log itself.
func (l *Log) ownEventLocked(name string, fill func(b *event.Builder)) {
	// A fresh buffer each time: own events can nest (a write that hits a
	// full disk discards a chunk, which records an event) and are rare.
	b := event.Begin(nil, l.nowNS(), name)
	fill(&b)
	ev := b.End()
	if c := l.cur; c != nil && !l.done && c.size+int64(len(ev)) >= l.opts.ChunkBytes {
		// Only a burst of own events can fill the reserve.
		_ = l.rotateLocked("bytes")
	}
	// An own event that cannot be written is lost with the write error the
	// caller sees next; there is nowhere else to put it.
	_ = l.writeLocked(ev, false)
}

// rotateLocked closes the latest chunk (if any) for reason and opens a new
// one. The closed chunk's content and ETag are final at once; making it
// durable (fsync, then its .sum) happens in the background so appends do not
// wait for the disk. A crash before that leaves a chunk without .sum, which
// Open recovers like the chunk that was latest.
func (l *Log) rotateLocked(reason string) error {
	var prev *closedChunk
	if c := l.cur; c != nil {
		l.cur = nil
		regions, etag := c.sum.finish()
		cc := closedChunk{
			Info:       Info{ID: c.id, Size: c.size, Lines: c.lines, Closed: true, ETag: etag},
			closedMono: l.opts.Mono(),
			regions:    regions,
		}
		job := closeJob{id: c.id, f: c.f, sum: sumFile{size: c.size, lines: c.lines, closedWall: l.nowNS(), etag: etag, regions: regions}}
		if cc.Size == 0 {
			c.f.Close()
			l.removeFiles(cc.ID)
		} else {
			l.closed = append(l.closed, cc)
			prev = &l.closed[len(l.closed)-1]
			select {
			case l.closing <- job:
			default:
				// The disk is behind: close this one here, holding mu,
				// which slows appends down to the disk's pace.
				l.recordCloseFailuresLocked(l.syncClosed([]closeJob{job}))
			}
		}
	}
	if l.done {
		return nil
	}
	id, err := l.nextIDLocked()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(l.path(id), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("chunklog: create chunk %s: %w", id, err)
	}
	// The directory entry becomes durable with the chunk's first fsync
	// (syncLatest) or its closing batch: its id is safe already.
	l.cur = &openChunk{id: id, f: f, openedMono: l.opts.Mono(), sum: newSummer(), newInDir: true}
	l.notifyLocked()
	if prev != nil && reason != "" {
		info := prev.Info
		l.ownEventLocked("chunk_closed", func(b *event.Builder) {
			b.Str("id", info.ID)
			b.Int("bytes", info.Size)
			b.Int("events", info.Lines)
			b.Str("reason", reason)
		})
	}
	return nil
}

// closeJob is a closed chunk still to be made durable.
type closeJob struct {
	id  string
	f   *os.File
	sum sumFile
}

// closerLoop makes closed chunks durable, in batches at most one fsync
// interval apart, until closing is closed: in a burst many chunks close each
// second, and one round of fsyncs for all of them costs the disk far less
// than one round per chunk.
func (l *Log) closerLoop() {
	defer close(l.closerDone)
	var batch []closeJob
	for {
		job, ok := <-l.closing
		if !ok {
			return
		}
		batch = append(batch[:0], job)
		// Gather what closes within the interval; Close or a full queue ends
		// the wait early.
		t := time.NewTimer(l.opts.FsyncInterval)
	gather:
		for len(batch) < maxPendingCloses {
			select {
			case job, ok := <-l.closing:
				if !ok {
					break gather
				}
				batch = append(batch, job)
			case <-t.C:
				break gather
			case <-l.stop:
				break gather
			}
		}
		t.Stop()
		failed := l.syncClosed(batch)
		l.mu.Lock()
		l.recordCloseFailuresLocked(failed)
		l.mu.Unlock()
		if !ok {
			return
		}
	}
}

// closeFailure is a closed chunk that could not be made durable.
type closeFailure struct {
	id  string
	err error
}

// syncClosed fsyncs closed chunks and then writes their .sum files, without
// holding mu. Such a chunk that fails stays without .sum and is recovered by
// the next Open.
//
// The chunks of a batch are made durable concurrently: the file system
// commits concurrent fsyncs together, so a burst of closed chunks costs
// about one round of commits rather than one per chunk.
func (l *Log) syncClosed(jobs []closeJob) []closeFailure {
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, job := range jobs {
		wg.Go(func() {
			err := l.fsync(job.f)
			if cerr := job.f.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = l.writeTemp(job.id+".sum", job.sum.encode())
			}
			errs[i] = err
		})
	}
	wg.Wait()
	var failed []closeFailure
	ready := jobs[:0:0]
	for i, job := range jobs {
		if errs[i] != nil {
			failed = append(failed, closeFailure{job.id, errs[i]})
			continue
		}
		ready = append(ready, job)
	}
	for _, job := range ready {
		if err := os.Rename(l.path(job.id+".sum.tmp"), l.path(job.id+".sum")); err != nil {
			failed = append(failed, closeFailure{job.id, err})
		}
	}
	if err := l.syncDir(); err != nil && len(ready) > 0 {
		failed = append(failed, closeFailure{ready[0].id, err})
	}
	for _, job := range jobs {
		if _, err := os.Stat(l.path(job.id)); err != nil {
			// Discarded meanwhile: its .sum would be an orphan.
			_ = os.Remove(l.path(job.id + ".sum"))
		}
	}
	return failed
}

// recordCloseFailuresLocked keeps failures for Close to return and records
// them as events while the log is open.
func (l *Log) recordCloseFailuresLocked(failed []closeFailure) {
	for _, f := range failed {
		l.closeErr = errors.Join(l.closeErr, fmt.Errorf("chunklog: make chunk %s durable: %w", f.id, f.err))
		if l.done {
			continue
		}
		l.ownEventLocked("chunk_close_failed", func(b *event.Builder) {
			b.Str("id", f.id)
			b.Str("error", f.err.Error())
		})
	}
}

func (l *Log) notifyLocked() {
	if l.watched {
		close(l.changed)
		l.changed = make(chan struct{})
		l.watched = false
	}
}

// Changed returns a channel that is closed at the next append, rotation or
// discard: followers of the latest chunk wait on it.
func (l *Log) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.watched = true
	return l.changed
}

// List returns every chunk on disk, oldest first; the last is the latest
// (not Closed) unless the log is closed.
func (l *Log) List() []Info {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Info, 0, len(l.closed)+1)
	for _, c := range l.closed {
		out = append(out, c.Info)
	}
	if c := l.cur; c != nil {
		out = append(out, Info{ID: c.id, Size: c.size, Lines: c.lines})
	}
	return out
}

// Stat returns what is known of chunk id.
func (l *Log) Stat(id string) (Info, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.statLocked(id)
}

func (l *Log) statLocked(id string) (Info, error) {
	if c := l.cur; c != nil && c.id == id {
		return Info{ID: c.id, Size: c.size, Lines: c.lines}, nil
	}
	i, ok := slices.BinarySearchFunc(l.closed, id, func(c closedChunk, id string) int { return strings.Compare(c.ID, id) })
	if !ok {
		return Info{}, ErrNotFound
	}
	return l.closed[i].Info, nil
}

// OpenChunk opens chunk id for reading and returns what is known of it at
// that moment. The file stays readable after the chunk is discarded.
func (l *Log) OpenChunk(id string) (*os.File, Info, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	info, err := l.statLocked(id)
	if err != nil {
		return nil, Info{}, err
	}
	f, err := os.Open(l.path(id))
	if err != nil {
		return nil, Info{}, fmt.Errorf("chunklog: open chunk %s: %w", id, err)
	}
	return f, info, nil
}

// Dir returns the log's directory.
func (l *Log) Dir() string { return l.opts.Dir }

// Close closes the latest chunk with reason "shutdown", fsyncs it and
// releases the directory. Appends after Close fail with ErrClosed.
func (l *Log) Close() error {
	var err error
	l.closer.Do(func() {
		close(l.stop)
		l.wg.Wait()
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.cur != nil && l.cur.size > 0 {
			// The shutdown event goes into the chunk it describes.
			id, size, lines := l.cur.id, l.cur.size, l.cur.lines
			l.ownEventLocked("chunk_closed", func(b *event.Builder) {
				b.Str("id", id)
				b.Int("bytes", size)
				b.Int("events", lines+1)
				b.Str("reason", "shutdown")
			})
		}
		l.done = true
		err = l.rotateLocked("")
		l.watched = true
		l.notifyLocked()
		l.mu.Unlock()
		close(l.closing)
		<-l.closerDone
		l.mu.Lock()
		err = errors.Join(err, l.closeErr)
		l.lock.Close()
	})
	return err
}

// closeFiles releases files after a failed Open.
func (l *Log) closeFiles() {
	if l.cur != nil {
		l.cur.f.Close()
	}
	l.lock.Close()
}

// every runs fn every d until Close.
func (l *Log) every(d time.Duration, fn func()) {
	defer l.wg.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			fn()
		}
	}
}

// syncLatest fsyncs the latest chunk without holding mu during the fsync,
// so appends are not delayed by the disk.
func (l *Log) syncLatest() {
	l.mu.Lock()
	c := l.cur
	if c == nil || !c.dirty {
		l.mu.Unlock()
		return
	}
	c.dirty = false
	f, newInDir := c.f, c.newInDir
	c.newInDir = false
	l.mu.Unlock()
	err := l.fsync(f)
	if err == nil && newInDir {
		err = l.syncDir()
	}
	if err != nil && !errors.Is(err, os.ErrClosed) {
		l.mu.Lock()
		c.dirty, c.newInDir = true, c.newInDir || newInDir
		l.ownEventLocked("fsync_failed", func(b *event.Builder) {
			b.Str("id", c.id)
			b.Str("error", err.Error())
		})
		l.mu.Unlock()
	}
}

// housekeep closes the latest chunk when it is old enough and applies
// retention.
func (l *Log) housekeep() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return
	}
	if c := l.cur; c != nil && c.size > 0 && l.opts.Mono()-c.openedMono >= l.opts.ChunkAge {
		if err := l.rotateLocked("age"); err != nil {
			// The next append retries the rotation and reports the error.
			return
		}
	}
	if l.cur == nil {
		_ = l.rotateLocked("")
	}
	l.retainLocked()
}

// retainLocked discards closed chunks, oldest first: those older than
// MaxAge, then while the total exceeds MaxBytes, then while the disk is
// nearly full.
func (l *Log) retainLocked() {
	now := l.opts.Mono()
	for len(l.closed) > 0 && now-l.closed[0].closedMono >= l.opts.MaxAge {
		l.discardOldestLocked("max-age")
	}
	for l.opts.MaxBytes > 0 && l.total > l.opts.MaxBytes && len(l.closed) > 0 {
		l.discardOldestLocked("max-bytes")
	}
	// Free space is measured once: deleting a chunk a reader still has
	// open frees nothing at once, and another process may be filling the
	// disk, so at most the shortfall is discarded per round.
	free, err := l.opts.FreeBytes()
	if err != nil || free >= minFreeBytes {
		return
	}
	for short := int64(minFreeBytes - free); short > 0 && len(l.closed) > 0; {
		short -= l.closed[0].Size
		l.discardOldestLocked("disk-full")
	}
}

// discardOldestLocked deletes the oldest closed chunk and records why. It
// reports false when there is none: the latest chunk is never discarded.
func (l *Log) discardOldestLocked(reason string) bool {
	if len(l.closed) == 0 {
		return false
	}
	l.discardEventLocked(l.dropOldestLocked(), reason)
	return true
}

// dropOldestLocked deletes the oldest closed chunk, which must exist.
func (l *Log) dropOldestLocked() closedChunk {
	c := l.closed[0]
	l.closed = l.closed[1:]
	l.total -= c.Size
	l.removeFiles(c.ID)
	l.notifyLocked()
	return c
}

func (l *Log) discardEventLocked(c closedChunk, reason string) {
	l.ownEventLocked("chunk_discarded", func(b *event.Builder) {
		b.Str("id", c.ID)
		b.Int("bytes", c.Size)
		b.Int("events", c.Lines)
		b.Str("reason", reason)
	})
}

// removeFiles deletes a chunk and then its .sum, so a crash in between
// leaves an orphan .sum (removed on open), never a closed chunk without
// checksums.
func (l *Log) removeFiles(id string) {
	if err := os.Remove(l.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return
	}
	_ = os.Remove(l.path(id + ".sum"))
	_ = l.syncDir()
}

// writeFileAtomic writes name in dir so that it either exists whole or not
// at all: temp file, fsync, close, rename, fsync dir.
func (l *Log) writeFileAtomic(name string, data []byte) error {
	if err := l.writeTemp(name, data); err != nil {
		return err
	}
	if err := os.Rename(l.path(name+".tmp"), l.path(name)); err != nil {
		os.Remove(l.path(name + ".tmp"))
		return err
	}
	return l.syncDir()
}

// writeTemp writes and fsyncs name+".tmp", ready to be renamed to name.
func (l *Log) writeTemp(name string, data []byte) error {
	tmp := l.path(name + ".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := l.fsync(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func (l *Log) fsync(f *os.File) error {
	if l.opts.noFsync {
		return nil
	}
	return f.Sync()
}

// syncDir makes creations, renames and removals in the directory durable.
func (l *Log) syncDir() error {
	if l.opts.noFsync {
		return nil
	}
	return durable.SyncDir(l.opts.Dir)
}

// stopLoops stops the background goroutines without closing anything: what
// a killed process leaves. For tests.
func (l *Log) stopLoops() {
	l.closer.Do(func() {
		close(l.stop)
		l.wg.Wait()
		l.mu.Lock()
		l.done = true
		l.mu.Unlock()
		close(l.closing)
		<-l.closerDone
	})
}
