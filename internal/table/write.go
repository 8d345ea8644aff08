package table

import (
	"bytes"
	"fmt"
	"math"

	"stele/internal/event"
	"stele/internal/jsonscan"
	"stele/internal/segment"
)

// Writer writes one new segment of a partition. Nothing is live until the
// Segment that Close returns is committed.
type Writer struct {
	t    *Table
	part int64
	seg  *Segment
	w    *segment.Writer
	buf  []byte
}

// NewWriter starts a segment of partition part.
func (t *Table) NewWriter(part int64) (*Writer, error) {
	t.mu.Lock()
	n := t.next
	t.next++
	t.mu.Unlock()
	path := t.segPath(part, n)
	w, err := segment.Create(path)
	if err != nil {
		return nil, fmt.Errorf("table: %w", err)
	}
	w.BlockRows = blockRows
	return &Writer{t: t, part: part, w: w, seg: &Segment{
		Info: Info{Part: part, N: n, MinTime: math.MaxInt64, MaxTime: math.MinInt64},
		path: path,
	}}, nil
}

// Add adds the line line of source, whose time (its time_ns, or the time
// the store received it if it has none) is timeNS. It wraps lines that
// break the supervisor's contract (see the package documentation).
func (w *Writer) Add(source string, line []byte, timeNS int64) error {
	line = bytes.TrimRight(line, " \t\r\n")
	r := jsonscan.Scan(line)
	if r.Object && r.HasTime && r.TimeKey == "time_ns" && r.UTF8 {
		w.buf = append(w.buf[:0], line[:len(line)-1]...)
		if !emptyObject(w.buf) {
			w.buf = append(w.buf, ',')
		}
		w.buf = append(w.buf, `"_source":`...)
		w.buf = event.AppendString(w.buf, source)
		w.buf = append(w.buf, '}')
		if err := w.w.AddLine(w.buf); err == nil {
			w.note(r.TimeNS)
			return nil
		}
		// The columnar format refused what the scanner took (e.g. nesting
		// deeper than it keeps): fall through and keep the text whole.
	}
	b := event.Begin(w.buf[:0], timeNS, "")
	b.Raw(line)
	b.Str("_source", source)
	w.buf = b.End()
	if err := w.w.AddLine(w.buf[:len(w.buf)-1]); err != nil {
		return fmt.Errorf("table: %w", err)
	}
	w.note(timeNS)
	return nil
}

// emptyObject reports whether b, an object without its closing brace, has
// no member yet.
func emptyObject(b []byte) bool {
	return len(bytes.TrimRight(b, " \t\r\n")) == 1
}

// addStored adds a record read back from a segment, which has its _source.
func (w *Writer) addStored(line []byte, timeNS int64) error {
	if err := w.w.AddLine(line); err != nil {
		return fmt.Errorf("table: %w", err)
	}
	w.note(timeNS)
	return nil
}

func (w *Writer) note(timeNS int64) {
	w.seg.Records++
	w.seg.MinTime = min(w.seg.MinTime, timeNS)
	w.seg.MaxTime = max(w.seg.MaxTime, timeNS)
}

// Close finishes the file (fsynced, renamed into place) and returns the
// segment to commit. A segment without records is not written: Close
// returns nil.
func (w *Writer) Close() (*Segment, error) {
	if w.seg.Records == 0 {
		w.w.Abort()
		return nil, nil
	}
	if err := w.w.Close(); err != nil {
		return nil, fmt.Errorf("table: %w", err)
	}
	size, err := fileSize(w.seg.path)
	if err != nil {
		return nil, err
	}
	w.seg.Bytes = size
	return w.seg, nil
}

// Abort discards the segment.
func (w *Writer) Abort() { w.w.Abort() }
