package render

import (
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// tableWriter writes aligned text for terminals. It buffers up to
// maxBufferedRows rows (or raw events) to choose the column widths (and,
// for raw events, the columns), then writes them and every later row at
// once with those widths; a wider later value overflows its column.
type tableWriter struct {
	w io.Writer
	h Header

	// Before the layout is made.
	pendingRows   [][]Cell
	pendingEvents [][]field
	pendingBytes  int

	// The layout.
	committed bool
	raw       *rawLayout
	columns   []string // header as shown
	timeCol   int      // column whose Int cells show as times, or -1
	widths    []int
	right     []bool // numeric column: right-aligned
	line      []byte
}

const tableGap = "  "

func (t *tableWriter) ContentType() string { return "text/plain; charset=utf-8" }

func (t *tableWriter) Begin(h Header) error {
	t.h = h
	t.timeCol = -1
	if !h.Raw {
		t.columns = slices.Clone(h.Columns)
		if h.Time >= 0 && h.Time < len(h.Columns) {
			t.timeCol = h.Time
			others := slices.Delete(slices.Clone(h.Columns), h.Time, h.Time+1)
			t.columns[h.Time] = timeName(others)
		}
	}
	return nil
}

func (t *tableWriter) Row(cells []Cell) error {
	if err := checkRow(&t.h, cells); err != nil {
		return err
	}
	if t.committed {
		return t.writeRows([][]Cell{cells})
	}
	t.pendingRows = append(t.pendingRows, slices.Clone(cells))
	for _, c := range cells {
		t.pendingBytes += len(c.Str) + 16
	}
	if len(t.pendingRows) >= maxBufferedRows || t.pendingBytes >= maxBufferedBytes {
		return t.commit(false)
	}
	return nil
}

func (t *tableWriter) Event(line []byte) error {
	if err := checkEvent(&t.h); err != nil {
		return err
	}
	ev := parseEvent(line)
	if t.committed {
		return t.writeRows([][]Cell{t.raw.row(ev)})
	}
	t.pendingEvents = append(t.pendingEvents, ev)
	t.pendingBytes += eventBytes(ev)
	if len(t.pendingEvents) >= maxBufferedRows || t.pendingBytes >= maxBufferedBytes {
		return t.commit(false)
	}
	return nil
}

// Flush commits the layout from what is buffered, if anything is: a
// follow query shows its stored matches before waiting for new ones.
func (t *tableWriter) Flush() error {
	if !t.committed && len(t.pendingRows)+len(t.pendingEvents) > 0 {
		if err := t.commit(false); err != nil {
			return err
		}
	}
	return flushUnderlying(t.w)
}

func (t *tableWriter) End(errMsg string) error {
	if !t.committed {
		if err := t.commit(true); err != nil {
			return err
		}
	}
	if errMsg == "" {
		return nil
	}
	t.line = append(t.line[:0], "# error: "...)
	t.line = appendVisible(t.line, errMsg, false)
	t.line = append(t.line, '\n')
	_, err := t.w.Write(t.line)
	return err
}

// commit makes the layout from the buffered rows or events, writes the
// header and them, and drops them. complete says no more will come.
func (t *tableWriter) commit(complete bool) error {
	t.committed = true
	rows := t.pendingRows
	if t.h.Raw {
		t.raw = newRawLayout(t.pendingEvents, complete, false, timeLayout)
		t.columns = t.raw.columns
		for _, ev := range t.pendingEvents {
			rows = append(rows, t.raw.row(ev))
		}
	}
	t.pendingRows, t.pendingEvents, t.pendingBytes = nil, nil, 0

	t.widths = make([]int, len(t.columns))
	t.right = make([]bool, len(t.columns))
	numeric := make([]int, len(t.columns)) // numbers seen, or -1 after a non-number
	for i, name := range t.columns {
		t.widths[i] = utf8.RuneCountInString(visible(name, false))
	}
	for _, r := range rows {
		for i, c := range r {
			t.widths[i] = max(t.widths[i], utf8.RuneCountInString(t.cellText(i, c)))
			switch {
			case c.Kind == Null || numeric[i] < 0:
			case (c.Kind == Int || c.Kind == Float) && i != t.timeCol:
				numeric[i]++
			default:
				numeric[i] = -1
			}
		}
	}
	for i := range t.widths {
		t.widths[i] = min(t.widths[i], maxColumnWidth)
		t.right[i] = numeric[i] > 0
	}

	header := make([]Cell, len(t.columns))
	for i, name := range t.columns {
		header[i] = Cell{Kind: String, Str: name}
	}
	if err := t.writeLine(header, true); err != nil {
		return err
	}
	return t.writeRows(rows)
}

func (t *tableWriter) writeRows(rows [][]Cell) error {
	for _, r := range rows {
		if err := t.writeLine(r, false); err != nil {
			return err
		}
	}
	return nil
}

func (t *tableWriter) writeLine(cells []Cell, header bool) error {
	b := t.line[:0]
	last := len(cells) - 1
	for i, c := range cells {
		if i > 0 {
			b = append(b, tableGap...)
		}
		s := visible(c.Str, false)
		if !header {
			s = t.cellText(i, c)
		}
		pad := max(t.widths[i]-utf8.RuneCountInString(s), 0)
		alignRight := t.right[i] && (header || c.Kind == Int || c.Kind == Float)
		if alignRight {
			b = append(b, strings.Repeat(" ", pad)...)
		}
		b = append(b, s...)
		if !alignRight && i < last {
			b = append(b, strings.Repeat(" ", pad)...)
		}
	}
	t.line = append(b, '\n')
	_, err := t.w.Write(t.line)
	return err
}

// cellText is a cell as shown in column i, escaped for a terminal.
func (t *tableWriter) cellText(i int, c Cell) string {
	if i == t.timeCol && c.Kind == Int && c.Int >= 0 {
		return formatTime(c.Int, timeLayout)
	}
	return visible(text(c, "null"), false)
}
