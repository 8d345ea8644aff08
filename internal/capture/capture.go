package capture

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"stele/internal/event"
	"stele/internal/jsonscan"
)

// Counts are what a Reader has seen, for the supervisor's periodic event.
type Counts struct {
	Lines   atomic.Int64 // lines read, including partial last lines
	Wrapped atomic.Int64 // lines kept as _line / _line_b64
	Split   atomic.Int64 // over-long lines cut into pieces
	Stamped atomic.Int64 // objects given a time_ns
}

// Reader reads one stream of a program and queues its lines.
//
// One goroutine at a time reads the stream. It is the one that called Run
// until a direct write of its lines stalls (see Buffer.Put); then the
// watchdog starts another goroutine that reads on into the queue, and Run
// returns when the last of them reaches the end of the stream.
type Reader struct {
	stream string // "stdout" or "stderr"
	buf    *Buffer
	now    func() time.Time
	counts *Counts
	// onSplit, when set, is called for each over-long line once it ends.
	onSplit func(stream string, bytes int64, parts int)

	src    io.Reader
	result chan error // the outcome, from a goroutine that took over
	rescue func()     // c.takeOver, made once

	// Owned by the goroutine reading the stream.
	busy    bool   // the last read filled the read buffer
	pending []byte // an unfinished line, at most MaxLineBytes
	out     []byte // lines of the current read, not yet queued
	outN    int    // how many lines out holds
	part    int    // pieces already emitted of the current over-long line
	partLen int64  // bytes of the current over-long line so far
	partT   int64  // receive time of its first piece
}

// NewReader returns a Reader for stream ("stdout" or "stderr").
func NewReader(stream string, buf *Buffer, now func() time.Time, counts *Counts, onSplit func(string, int64, int)) *Reader {
	c := &Reader{stream: stream, buf: buf, now: now, counts: counts, onSplit: onSplit, result: make(chan error, 1)}
	c.rescue = c.takeOver
	return c
}

// Run reads r until EOF or an error, queueing every line, and keeps a
// partial last line. It returns nil at EOF.
func (c *Reader) Run(r io.Reader) error {
	c.src = r
	if replaced, err := c.loop(); !replaced {
		return err
	}
	return <-c.result
}

// takeOver is called by the Buffer's watchdog while the reading goroutine
// is stuck writing its lines: another goroutine reads on. The stuck one
// keeps the old out, which it is writing.
func (c *Reader) takeOver() {
	c.out, c.outN = nil, 0
	go func() {
		if replaced, err := c.loop(); !replaced {
			c.result <- err
		}
	}()
}

// loop reads the stream to its end; replaced reports that another
// goroutine took over, and then loop has touched nothing since.
func (c *Reader) loop() (replaced bool, err error) {
	rb := make([]byte, readBytes)
	for {
		n, err := c.src.Read(rb)
		c.busy = n == len(rb)
		if n > 0 && c.feed(rb[:n], c.now().UnixNano()) {
			return true, nil
		}
		if err != nil {
			if len(c.pending) > 0 || c.part > 0 {
				c.line(c.pending, c.now().UnixNano())
				c.pending = c.pending[:0]
				if c.flush() {
					return true, nil
				}
			}
			if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
				return false, nil
			}
			return false, err
		}
	}
}

// feed splits p into lines; lines are queued once per read so the writer
// sees whole batches. It reports whether another goroutine took over.
func (c *Reader) feed(p []byte, t int64) (replaced bool) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.pending = append(c.pending, p...)
			if len(c.pending) > MaxLineBytes {
				c.cutPieces(t)
			}
			break
		}
		if len(c.pending) > 0 {
			c.pending = append(c.pending, p[:i]...)
			if len(c.pending) > MaxLineBytes {
				c.cutPieces(t)
			}
			c.line(c.pending, t)
			c.pending = c.pending[:0]
		} else {
			c.line(p[:i], t)
		}
		p = p[i+1:]
	}
	return c.flush()
}

// flush queues (or writes) the lines of out; it reports whether another
// goroutine took over meanwhile.
func (c *Reader) flush() (replaced bool) {
	if c.outN == 0 {
		return false
	}
	// A stream that fills whole reads is fastest with reading and writing
	// overlapped, so it queues for the writer; a quieter one writes itself.
	rescue := c.rescue
	if c.busy {
		rescue = nil
	}
	next, replaced := c.buf.Put(c.out, c.outN, rescue)
	if replaced {
		return true
	}
	c.out, c.outN = next, 0
	return false
}

// cutPieces emits leading pieces of an over-long line while more than
// MaxLineBytes is pending, keeping the rest (and its memory) bounded.
func (c *Reader) cutPieces(t int64) {
	if c.part == 0 {
		c.partT = t
	}
	for len(c.pending) > MaxLineBytes {
		n := pieceEnd(c.pending, PieceBytes)
		c.piece(c.pending[:n], true)
		c.pending = append(c.pending[:0], c.pending[n:]...)
	}
}

// pieceEnd returns where to cut p at most max bytes in, backing up to the
// start of a UTF-8 sequence so pieces of valid text stay valid.
func pieceEnd(p []byte, max int) int {
	if len(p) <= max {
		return len(p)
	}
	n := max
	for back := 0; back < utf8.UTFMax && n > 0 && !utf8.RuneStart(p[n]); back++ {
		n--
	}
	if n == 0 {
		return max
	}
	return n
}

// piece emits one wrapped piece of an over-long line.
func (c *Reader) piece(p []byte, more bool) {
	c.part++
	c.partLen += int64(len(p))
	b := event.Begin(c.out, c.partT, "")
	b.Str("_stream", c.stream)
	b.Int("_part", int64(c.part))
	if more {
		b.Int("_more", 1)
	}
	b.Raw(p)
	c.out = b.End()
	c.outN++
}

// line handles one complete line (without its '\n').
func (c *Reader) line(l []byte, t int64) {
	c.counts.Lines.Add(1)
	if c.part > 0 {
		// The end of an over-long line: the rest goes out as pieces too.
		c.finishPieces(l)
		return
	}
	if c.stream == "stdout" {
		r := jsonscan.Scan(l)
		// An object with a key of Stele's own (leading '_') is wrapped, so a
		// program cannot forge the supervisor's events or wrappers.
		if r.Object && r.UTF8 && !r.ReservedKey {
			if r.HasTime && r.TimeKey == "time_ns" {
				c.out = append(c.out, l...)
				c.out = append(c.out, '\n')
				c.outN++
				return
			}
			if !r.TimeNSKey {
				c.stamp(l, r, t)
				return
			}
		}
	}
	c.wrap(l, t)
}

// stamp inserts "time_ns" right after the object's opening brace.
func (c *Reader) stamp(l []byte, r jsonscan.Result, t int64) {
	c.counts.Stamped.Add(1)
	open := bytes.IndexByte(l, '{')
	c.out = append(c.out, l[:open+1]...)
	c.out = append(c.out, `"time_ns":`...)
	from := "received"
	if r.HasTime {
		t, from = r.TimeNS, r.TimeKey
	}
	c.out = strconv.AppendInt(c.out, t, 10)
	c.out = append(c.out, `,"_time":"`...)
	c.out = append(c.out, from...)
	c.out = append(c.out, '"')
	rest := l[open+1:]
	if trimmed := bytes.TrimLeft(rest, " \t\r\n"); len(trimmed) > 0 && trimmed[0] != '}' {
		c.out = append(c.out, ',')
	}
	c.out = append(c.out, rest...)
	c.out = append(c.out, '\n')
	c.outN++
}

// wrap keeps a line that is not an event, cutting it into pieces if its
// escaped form would be too large.
func (c *Reader) wrap(l []byte, t int64) {
	c.counts.Wrapped.Add(1)
	start := len(c.out)
	b := event.Begin(c.out, t, "")
	b.Str("_stream", c.stream)
	b.Raw(l)
	c.out = b.End()
	if len(c.out)-start <= maxWrappedBytes {
		c.outN++
		return
	}
	c.out = c.out[:start]
	c.partT = t
	c.finishPieces(l)
}

// finishPieces emits the rest of a line that is being cut, l, as pieces,
// the last without "_more", and counts the split.
func (c *Reader) finishPieces(l []byte) {
	for len(l) > PieceBytes {
		n := pieceEnd(l, PieceBytes)
		c.piece(l[:n], true)
		l = l[n:]
	}
	c.piece(l, false)
	c.counts.Split.Add(1)
	if c.onSplit != nil {
		c.onSplit(c.stream, c.partLen, c.part)
	}
	c.part, c.partLen = 0, 0
}
