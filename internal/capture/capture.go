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
type Reader struct {
	stream string // "stdout" or "stderr"
	buf    *Buffer
	now    func() time.Time
	counts *Counts
	// onSplit, when set, is called for each over-long line once it ends.
	onSplit func(stream string, bytes int64, parts int)

	pending []byte // an unfinished line, at most MaxLineBytes
	out     []byte // lines of the current read, not yet queued
	outN    int    // how many lines out holds
	part    int    // pieces already emitted of the current over-long line
	partLen int64  // bytes of the current over-long line so far
	partT   int64  // receive time of its first piece
}

// NewReader returns a Reader for stream ("stdout" or "stderr").
func NewReader(stream string, buf *Buffer, now func() time.Time, counts *Counts, onSplit func(string, int64, int)) *Reader {
	return &Reader{stream: stream, buf: buf, now: now, counts: counts, onSplit: onSplit}
}

// Run reads r until EOF or an error, queueing every line, and keeps a
// partial last line. It returns nil at EOF.
func (c *Reader) Run(r io.Reader) error {
	rb := make([]byte, readBytes)
	for {
		n, err := r.Read(rb)
		if n > 0 {
			c.feed(rb[:n], c.now().UnixNano())
		}
		if err != nil {
			if len(c.pending) > 0 || c.part > 0 {
				c.line(c.pending, c.now().UnixNano())
				c.pending = c.pending[:0]
				c.flush()
			}
			if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
				return nil
			}
			return err
		}
	}
}

// feed splits p into lines; lines are queued once per read so the writer
// sees whole batches.
func (c *Reader) feed(p []byte, t int64) {
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
	c.flush()
}

func (c *Reader) flush() {
	if c.outN == 0 {
		return
	}
	c.out, c.outN = c.buf.Put(c.out, c.outN), 0
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
