package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/zeebo/xxh3"
	"stele/internal/durable"
)

// Part of the format; never change.
const (
	fileMagic   = "STELEWAL"
	fileVersion = 1
	fileHeader  = 12
	recHeader   = 4
	recTrailer  = 8
	fileSuffix  = ".wal"
	seqDigits   = 12
)

var (
	// ErrVersion reports a log file of a version this build does not know.
	ErrVersion = errors.New("wal: unknown file version")
	// ErrTooLarge reports a payload over MaxRecordBytes.
	ErrTooLarge = errors.New("wal: record too large")
	// ErrClosed reports use of a Log after Close or after a write failure.
	ErrClosed = errors.New("wal: log closed")
)

// Options configures a Log.
type Options struct {
	// After is a file number the new file must come after even if no such
	// file is left: the position the caller has moved past (Remove).
	After uint64
	// noFsync skips fsync(2), for tests that do not test durability.
	noFsync bool
}

// Log appends records to the newest file of a directory.
type Log struct {
	dir  string
	opts Options
	done chan struct{} // closed when the committer has stopped

	// mu guards the fields below.
	mu      sync.Mutex
	cond    *sync.Cond
	f       *os.File
	seq     uint64
	queue   []*pending
	busy    bool // the committer is writing a group
	closing bool
	err     error // sticky: after a failed write or fsync nothing more is acknowledged
}

type pending struct {
	payload []byte
	seq     uint64
	done    chan error
}

// Open starts a new log file after the existing ones in dir, which Replay
// should have read first. Appends go only to files Open creates.
func Open(dir string, opts Options) (*Log, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	seqs, err := listFiles(dir)
	if err != nil {
		return nil, err
	}
	l := &Log{dir: dir, opts: opts, done: make(chan struct{})}
	l.cond = sync.NewCond(&l.mu)
	next := opts.After + 1
	if len(seqs) > 0 {
		next = max(next, seqs[len(seqs)-1]+1)
	}
	if err := l.startFile(next); err != nil {
		return nil, err
	}
	go l.commitLoop()
	return l, nil
}

func fileName(seq uint64) string {
	s := strconv.FormatUint(seq, 10)
	return strings.Repeat("0", max(0, seqDigits-len(s))) + s + fileSuffix
}

// listFiles returns the numbers of the log files in dir, ascending.
func listFiles(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("wal: %w", err)
	}
	var seqs []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), fileSuffix)
		if !ok || len(name) != seqDigits {
			continue
		}
		if n, err := strconv.ParseUint(name, 10, 64); err == nil && n > 0 {
			seqs = append(seqs, n)
		}
	}
	slices.Sort(seqs)
	return seqs, nil
}

// startFile creates log file seq and makes it the one appended to. It is
// called with mu held or before the committer starts.
func (l *Log) startFile(seq uint64) error {
	path := filepath.Join(l.dir, fileName(seq))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	hdr := binary.LittleEndian.AppendUint32([]byte(fileMagic), fileVersion)
	if _, err := f.Write(hdr); err != nil {
		f.Close()
		return fmt.Errorf("wal: %w", err)
	}
	if err := l.fsync(f); err != nil {
		f.Close()
		return fmt.Errorf("wal: %w", err)
	}
	if err := l.syncDir(); err != nil {
		f.Close()
		return fmt.Errorf("wal: %w", err)
	}
	if l.f != nil {
		l.f.Close()
	}
	l.f, l.seq = f, seq
	return nil
}

// Append adds one record and returns once it is durable, with the number
// of the file holding it.
func (l *Log) Append(payload []byte) (uint64, error) {
	if len(payload) > MaxRecordBytes {
		return 0, ErrTooLarge
	}
	p := &pending{payload: payload, done: make(chan error, 1)}
	l.mu.Lock()
	if l.closing || l.err != nil {
		err := l.err
		l.mu.Unlock()
		if err == nil {
			err = ErrClosed
		}
		return 0, err
	}
	l.queue = append(l.queue, p)
	if len(l.queue) == 1 {
		l.cond.Broadcast()
	}
	l.mu.Unlock()
	err := <-p.done
	return p.seq, err
}

// commitLoop writes queued records in groups: one write(2) and one fsync
// per group, then acknowledges every record of the group.
func (l *Log) commitLoop() {
	defer close(l.done)
	var buf []byte
	for {
		l.mu.Lock()
		for len(l.queue) == 0 && !l.closing {
			l.cond.Wait()
		}
		if len(l.queue) == 0 {
			l.mu.Unlock()
			return
		}
		// No waiting for more: records that arrive during this group's
		// fsync form the next group, so groups grow with the load.
		group := l.queue
		n := 0
		size := 0
		for n < len(group) && (n == 0 || size+len(group[n].payload) <= maxGroupBytes) {
			size += len(group[n].payload) + recHeader + recTrailer
			n++
		}
		l.queue = slices.Clone(group[n:])
		group = group[:n]
		f, seq, stuck := l.f, l.seq, l.err
		l.busy = true
		l.mu.Unlock()

		err := stuck
		if err == nil {
			buf = buf[:0]
			for _, p := range group {
				buf = appendRecord(buf, p.payload)
			}
			if _, werr := f.Write(buf); werr != nil {
				err = fmt.Errorf("wal: write: %w", werr)
			} else if serr := l.fsync(f); serr != nil {
				err = fmt.Errorf("wal: fsync: %w", serr)
			}
		}
		l.mu.Lock()
		if err != nil {
			l.err = err
		}
		l.busy = false
		l.cond.Broadcast()
		l.mu.Unlock()
		for _, p := range group {
			p.seq = seq
			p.done <- err
		}
	}
}

func appendRecord(dst, payload []byte) []byte {
	start := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	dst = append(dst, payload...)
	return binary.LittleEndian.AppendUint64(dst, xxh3.Hash(dst[start:]))
}

// Rotate starts a new file and returns the number of the last file before
// it: every record appended before Rotate is in a file numbered at most
// that, every record after it in a later one.
func (l *Log) Rotate() (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing || l.err != nil {
		return 0, ErrClosed
	}
	// Let queued records reach the old file first.
	for len(l.queue) > 0 || l.busy {
		l.cond.Wait()
	}
	prev := l.seq
	if err := l.startFile(prev + 1); err != nil {
		return 0, err
	}
	return prev, nil
}

// Remove deletes the log files numbered at most upTo, whose records are
// kept elsewhere now. The file being appended to is never removed.
func (l *Log) Remove(upTo uint64) error {
	l.mu.Lock()
	cur := l.seq
	l.mu.Unlock()
	seqs, err := listFiles(l.dir)
	if err != nil {
		return err
	}
	for _, s := range seqs {
		if s <= upTo && s < cur {
			if err := os.Remove(filepath.Join(l.dir, fileName(s))); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("wal: %w", err)
			}
		}
	}
	return l.syncDir()
}

// Close acknowledges what is queued and closes the file.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		<-l.done
		return nil
	}
	l.closing = true
	l.cond.Broadcast()
	l.mu.Unlock()
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}

func (l *Log) fsync(f *os.File) error {
	if l.opts.noFsync {
		return nil
	}
	return f.Sync()
}

func (l *Log) syncDir() error {
	if l.opts.noFsync {
		return nil
	}
	return durable.SyncDir(l.dir)
}

// ReplayStats says what Replay found besides records.
type ReplayStats struct {
	Files     int
	Records   int64
	TornBytes int64 // an incomplete last record of the newest file, cut off
	// Corrupt describes damage that is not a torn tail ("" if none):
	// everything from there on was cut off and is lost from the log.
	Corrupt   string
	LostBytes int64
}

// Replay calls fn with the payload of every record in dir, oldest first.
// The payload is only valid during the call. A torn tail is cut off;
// corruption is cut off too, and reported in the stats, so the caller can
// record it and fetch the lost data again. Replay fails only on I/O errors,
// an unknown version, or an error from fn.
func Replay(dir string, fn func(payload []byte) error) (ReplayStats, error) {
	return ReplayAfter(dir, 0, fn)
}

// ReplayAfter is Replay of the files numbered after after only: those up to
// it hold records kept elsewhere now, left by a crash before Remove.
func ReplayAfter(dir string, after uint64, fn func(payload []byte) error) (ReplayStats, error) {
	var st ReplayStats
	seqs, err := listFiles(dir)
	if err != nil {
		return st, err
	}
	for len(seqs) > 0 && seqs[0] <= after {
		seqs = seqs[1:]
	}
	for i, seq := range seqs {
		path := filepath.Join(dir, fileName(seq))
		newest := i == len(seqs)-1
		good, size, bad, err := replayFile(path, fn, &st)
		if err != nil {
			return st, err
		}
		if good == size {
			continue
		}
		if newest && (bad == "" || tornTail(path, good, size)) {
			st.TornBytes = size - good
		} else {
			if bad == "" {
				bad = "record cut short"
			}
			st.Corrupt = fmt.Sprintf("%s at offset %d: %s", fileName(seq), good, bad)
			st.LostBytes = size - good
			for _, later := range seqs[i+1:] {
				p := filepath.Join(dir, fileName(later))
				if fi, err := os.Stat(p); err == nil {
					st.LostBytes += fi.Size()
				}
				if err := os.Remove(p); err != nil {
					return st, fmt.Errorf("wal: %w", err)
				}
			}
		}
		if err := truncate(path, good); err != nil {
			return st, err
		}
		if !newest && st.Corrupt != "" {
			break
		}
	}
	return st, nil
}

// replayFile reads one file; it returns how many bytes hold whole, valid
// records (including the header), the file's size, and what was wrong at
// that point if it was not just the end of the file.
func replayFile(path string, fn func([]byte) error, st *ReplayStats) (good, size int64, bad string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, "", fmt.Errorf("wal: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, "", fmt.Errorf("wal: %w", err)
	}
	size = fi.Size()
	st.Files++
	var hdr [fileHeader]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		// A file cut before its header was written whole holds nothing.
		return 0, size, "", nil
	}
	if string(hdr[:8]) != fileMagic {
		return 0, size, "bad magic", nil
	}
	if v := binary.LittleEndian.Uint32(hdr[8:]); v != fileVersion {
		return 0, size, "", fmt.Errorf("%w %d in %s", ErrVersion, v, path)
	}
	good = fileHeader
	r := bufio.NewReaderSize(f, 256<<10)
	buf := make([]byte, 0, 64<<10)
	for {
		var lenb [recHeader]byte
		if _, err := io.ReadFull(r, lenb[:]); err != nil {
			return good, size, "", nil
		}
		n := binary.LittleEndian.Uint32(lenb[:])
		if n > MaxRecordBytes {
			return good, size, fmt.Sprintf("record length %d over the limit", n), nil
		}
		if good+recHeader+int64(n)+recTrailer > size {
			return good, size, "", nil // runs past the end: torn
		}
		buf = append(buf[:0], lenb[:]...)
		buf = slices.Grow(buf, int(n)+recTrailer)[:recHeader+int(n)+recTrailer]
		if _, err := io.ReadFull(r, buf[recHeader:]); err != nil {
			return good, size, "", nil
		}
		body := buf[:recHeader+int(n)]
		if xxh3.Hash(body) != binary.LittleEndian.Uint64(buf[recHeader+int(n):]) {
			return good, size, "checksum mismatch", nil
		}
		if err := fn(body[recHeader:]); err != nil {
			return good, size, "", err
		}
		st.Records++
		good += int64(len(buf))
	}
}

// tornTail reports whether the bytes of path from good to size look like
// what a crash leaves at the end of the newest file: one record cut short
// or zeros where the file system had not written data yet.
func tornTail(path string, good, size int64) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	tail := make([]byte, min(size-good, MaxRecordBytes+recHeader+recTrailer+1))
	n, _ := f.ReadAt(tail, good)
	tail = tail[:n]
	if int64(n) == size-good && len(tail) >= recHeader {
		// A single record that ends exactly at the end of the file.
		if int64(recHeader)+int64(binary.LittleEndian.Uint32(tail))+recTrailer == size-good {
			return true
		}
	}
	for _, b := range tail {
		if b != 0 {
			return false
		}
	}
	return int64(n) == size-good
}

func truncate(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	return f.Sync()
}
