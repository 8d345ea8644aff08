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
}

// Log is an open chunk directory. Its methods are safe for concurrent use.
type Log struct {
	opts   Options
	lock   *os.File
	stop   chan struct{}
	wg     sync.WaitGroup
	closer sync.Once

	// mu guards the fields below.
	mu      sync.Mutex
	closed  []closedChunk // oldest first
	cur     *openChunk    // nil only after a failed rotation or Close
	lastID  uint64
	total   int64 // bytes of all chunks on disk
	changed chan struct{}
	watched bool
	done    bool
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
	l := &Log{opts: opts, lock: lock, stop: make(chan struct{}), changed: make(chan struct{})}
	pending, err := l.recover()
	if err == nil {
		err = l.rotateLocked("")
	}
	if err != nil {
		lock.Close()
		return nil, err
	}
	for _, ev := range pending {
		if err := l.writeLocked(ev); err != nil {
			l.closeFiles()
			return nil, err
		}
	}
	l.retainLocked()
	l.wg.Add(2)
	go l.fsyncLoop()
	go l.housekeepingLoop()
	return l, nil
}

func (l *Log) path(name string) string { return filepath.Join(l.opts.Dir, name) }

func (l *Log) nowNS() int64 { return l.opts.Now().UnixNano() }

// nextIDLocked returns a fresh id: later than every id before, even if the
// wall clock went backwards.
func (l *Log) nextIDLocked() string {
	n := uint64(max(l.opts.Now().UnixMicro(), 0))
	if n <= l.lastID {
		n = l.lastID + 1
	}
	l.lastID = n
	return formatID(n)
}

// Append writes a batch of whole lines, each ending in '\n', closing chunks
// as they fill. When it returns nil the bytes are in the kernel: a kill of
// the process no longer loses them.
func (l *Log) Append(batch []byte) error {
	if len(batch) == 0 {
		return nil
	}
	if batch[len(batch)-1] != '\n' {
		return ErrNotLines
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return ErrClosed
	}
	return l.appendLocked(batch)
}

func (l *Log) appendLocked(batch []byte) error {
	fresh := false // the latest chunk holds at most the events of its own opening
	for len(batch) > 0 {
		if l.cur == nil {
			if err := l.rotateLocked(""); err != nil {
				return err
			}
			fresh = true
		}
		room := l.opts.ChunkBytes - 1 - l.cur.size
		if int64(len(batch)) <= room {
			return l.writeLocked(batch)
		}
		n := fitLines(batch, room)
		if n == 0 {
			if !fresh && l.cur.size > 0 {
				if err := l.rotateLocked("bytes"); err != nil {
					return err
				}
				fresh = true
				continue
			}
			// A line larger than a whole chunk gets a chunk of its own.
			n = bytes.IndexByte(batch, '\n') + 1
			if n > MaxRecordBytes {
				return ErrRecordTooLarge
			}
		}
		if err := l.writeLocked(batch[:n]); err != nil {
			return err
		}
		batch = batch[n:]
		if err := l.rotateLocked("bytes"); err != nil {
			return err
		}
		fresh = true
	}
	return nil
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
// undone, so a chunk never holds a torn line; a full disk first discards the
// oldest chunks.
func (l *Log) writeLocked(p []byte) error {
	if l.cur == nil {
		if err := l.rotateLocked(""); err != nil {
			return err
		}
	}
	c := l.cur
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
		if errors.Is(err, syscall.ENOSPC) && l.discardOldestLocked("disk-full") {
			continue
		}
		return fmt.Errorf("chunklog: write %s: %w", c.id, err)
	}
	c.sum.write(p)
	c.size += int64(len(p))
	c.lines += int64(bytes.Count(p, []byte{'\n'}))
	c.dirty = true
	l.total += int64(len(p))
	l.notifyLocked()
	return nil
}

// Event appends one of the caller's own events, built with package event.
func (l *Log) Event(line []byte) error { return l.Append(line) }

// ownEventLocked records an event of the log itself.
func (l *Log) ownEventLocked(name string, fill func(b *event.Builder)) {
	// A fresh buffer each time: own events can nest (a write that hits a
	// full disk discards a chunk, which records an event) and are rare.
	b := event.Begin(nil, l.nowNS(), name)
	fill(&b)
	// An own event that cannot be written is lost with the write error the
	// caller sees next; there is nowhere else to put it.
	_ = l.writeLocked(b.End())
}

// rotateLocked closes the latest chunk (if any) for reason and opens a new
// one. The closed chunk is fsynced and its .sum written before the new chunk
// exists, so at most the newest chunk on disk lacks a .sum.
func (l *Log) rotateLocked(reason string) error {
	var prev *closedChunk
	if c := l.cur; c != nil {
		cc, err := l.closeChunkLocked(c)
		if err != nil {
			return err
		}
		l.cur = nil
		if cc.Size == 0 {
			l.removeFiles(cc.ID)
		} else {
			l.closed = append(l.closed, cc)
			prev = &l.closed[len(l.closed)-1]
		}
	}
	if l.done {
		return nil
	}
	id := l.nextIDLocked()
	f, err := os.OpenFile(l.path(id), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("chunklog: create chunk %s: %w", id, err)
	}
	if err := l.syncDir(); err != nil {
		f.Close()
		os.Remove(l.path(id))
		return fmt.Errorf("chunklog: create chunk %s: %w", id, err)
	}
	l.cur = &openChunk{id: id, f: f, openedMono: l.opts.Mono(), sum: newSummer()}
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

// closeChunkLocked makes c durable and immutable: fsync, then its .sum.
func (l *Log) closeChunkLocked(c *openChunk) (closedChunk, error) {
	if err := l.fsync(c.f); err != nil {
		return closedChunk{}, fmt.Errorf("chunklog: fsync chunk %s: %w", c.id, err)
	}
	if err := c.f.Close(); err != nil {
		return closedChunk{}, fmt.Errorf("chunklog: close chunk %s: %w", c.id, err)
	}
	regions, etag := c.sum.finish()
	cc := closedChunk{
		Info:       Info{ID: c.id, Size: c.size, Lines: c.lines, Closed: true, ETag: etag},
		closedMono: l.opts.Mono(),
	}
	if c.size == 0 {
		return cc, nil
	}
	s := sumFile{size: c.size, lines: c.lines, closedWall: l.nowNS(), etag: etag, regions: regions}
	if err := l.writeFileAtomic(c.id+".sum", s.encode()); err != nil {
		return closedChunk{}, fmt.Errorf("chunklog: write checksums of %s: %w", c.id, err)
	}
	return cc, nil
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
		l.notifyLocked()
		l.watched = true
		l.notifyLocked()
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

func (l *Log) fsyncLoop() {
	defer l.wg.Done()
	t := time.NewTicker(l.opts.FsyncInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.syncLatest()
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
	f := c.f
	l.mu.Unlock()
	if err := l.fsync(f); err != nil && !errors.Is(err, os.ErrClosed) {
		l.mu.Lock()
		c.dirty = true
		l.ownEventLocked("fsync_failed", func(b *event.Builder) {
			b.Str("id", c.id)
			b.Str("error", err.Error())
		})
		l.mu.Unlock()
	}
}

func (l *Log) housekeepingLoop() {
	defer l.wg.Done()
	t := time.NewTicker(housekeepingInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.housekeep()
		}
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
	for len(l.closed) > 0 {
		free, err := l.opts.FreeBytes()
		if err != nil || free >= minFreeBytes {
			return
		}
		l.discardOldestLocked("disk-full")
	}
}

// discardOldestLocked deletes the oldest closed chunk and records why. It
// reports false when there is none: the latest chunk is never discarded.
func (l *Log) discardOldestLocked(reason string) bool {
	if len(l.closed) == 0 {
		return false
	}
	c := l.closed[0]
	l.closed = l.closed[1:]
	l.total -= c.Size
	l.removeFiles(c.ID)
	l.notifyLocked()
	l.ownEventLocked("chunk_discarded", func(b *event.Builder) {
		b.Str("id", c.ID)
		b.Int("bytes", c.Size)
		b.Int("events", c.Lines)
		b.Str("reason", reason)
	})
	return true
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
	dir := l.opts.Dir
	tmp := filepath.Join(dir, name+".tmp")
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
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return err
	}
	return l.syncDir()
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
	d, err := os.Open(l.opts.Dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
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
	})
}
