package table

import (
	"bytes"
	"fmt"
	"math"

	"stele/internal/dremel"
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

// EncodeFast makes w encode for speed over size (segment.Writer.Fast):
// for flushes and warm merges, whose segments a cold merge rewrites with
// the full encoder. Call it before the first Add.
func (w *Writer) EncodeFast() {
	w.w.Fast = true
	w.seg.fast = true
}

// Add adds the line line of source, whose time (its time_ns, or the time
// the store received it if it has none) is timeNS. It wraps lines that
// break the supervisor's contract (see the package documentation).
func (w *Writer) Add(source string, line []byte, timeNS int64) error {
	var ok bool
	w.buf, ok = appendRecord(w.buf[:0], source, line, timeNS)
	if ok {
		if err := w.w.AddLine(w.buf); err == nil {
			w.note(timeNS)
			return nil
		}
		// The columnar format refused what the scanner took (e.g. nesting
		// deeper than it keeps): keep the text whole.
		w.buf = AppendWrapped(w.buf[:0], source, line, timeNS)
	}
	if err := w.w.AddLine(w.buf); err != nil {
		return fmt.Errorf("table: %w", err)
	}
	w.note(timeNS)
	return nil
}

// AddEvent is Add for a line the caller has found to be kept as an
// event: a JSON object with an integer top-level time_ns, all valid UTF-8,
// as jsonscan.Scan reports it (Result.Object, HasTime with TimeKey
// "time_ns", UTF8). It spares scanning the line again.
func (w *Writer) AddEvent(source string, line []byte, timeNS int64) error {
	w.buf = appendEvent(w.buf[:0], source, bytes.TrimRight(line, " \t\r\n"))
	if err := w.w.AddLine(w.buf); err != nil {
		// As in Add: what the columnar format refuses is kept whole.
		w.buf = AppendWrapped(w.buf[:0], source, line, timeNS)
		if err := w.w.AddLine(w.buf); err != nil {
			return fmt.Errorf("table: %w", err)
		}
	}
	w.note(timeNS)
	return nil
}

// AppendRecord appends the record the table stores for line of source at
// timeNS, as a JSON line without newline: what a segment holds, before its
// key order is the segment's.
func AppendRecord(dst []byte, source string, line []byte, timeNS int64) []byte {
	dst, _ = appendRecord(dst, source, line, timeNS)
	return dst
}

// appendRecord reports whether the line was kept as an event (true) or
// wrapped.
func appendRecord(dst []byte, source string, line []byte, timeNS int64) ([]byte, bool) {
	line = bytes.TrimRight(line, " \t\r\n")
	r := jsonscan.Scan(line)
	if !r.Object || !r.HasTime || r.TimeKey != "time_ns" || !r.UTF8 {
		return AppendWrapped(dst, source, line, timeNS), false
	}
	return appendEvent(dst, source, line), true
}

// appendEvent appends the record for line, a JSON object without trailing
// space, as an event: with the member "_source" added last.
func appendEvent(dst []byte, source string, line []byte) []byte {
	start := len(dst)
	dst = append(dst, line[:len(line)-1]...)
	if !emptyObject(dst[start:]) {
		dst = append(dst, ',')
	}
	dst = append(dst, `"_source":`...)
	dst = event.AppendString(dst, source)
	return append(dst, '}')
}

// AppendWrapped appends the record the table stores for a line that is not
// an event it can keep as one: the text whole, as the supervisor wraps such
// output.
func AppendWrapped(dst []byte, source string, line []byte, timeNS int64) []byte {
	b := event.Begin(dst, timeNS, "")
	b.Raw(line)
	b.Str("_source", source)
	dst = b.End()
	return dst[:len(dst)-1]
}

// emptyObject reports whether b, an object without its closing brace, has
// no member yet.
func emptyObject(b []byte) bool {
	return len(bytes.TrimRight(b, " \t\r\n")) == 1
}

// addValue adds a record as assembled from a segment (it has its
// _source): a merge's, which so skips rendering it as JSON and parsing it
// back.
func (w *Writer) addValue(v dremel.Value, timeNS int64) error {
	if err := w.w.Add(v); err != nil {
		return fmt.Errorf("table: %w", err)
	}
	w.note(timeNS)
	return nil
}

// addColumns adds the records of a flat block as columns of schema s
// (segment.Writer.AddColumns), times their times: a column merge's.
func (w *Writer) addColumns(s *dremel.Schema, cols []dremel.Column, times []int64) error {
	if err := w.w.AddColumns(s, cols, len(times)); err != nil {
		return fmt.Errorf("table: %w", err)
	}
	for _, t := range times {
		w.note(t)
	}
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
