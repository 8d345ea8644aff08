package render

import (
	"bytes"
	"encoding/csv"
	"io"
	"strings"
	"unicode/utf8"
)

// csvWriter writes RFC 4180 records with encoding/csv: a header record,
// then one record per row. Stats rows are written at once; raw events are
// buffered like table's to choose the columns.
type csvWriter struct {
	w   io.Writer
	buf bytes.Buffer
	cw  *csv.Writer
	h   Header

	pendingEvents [][]field
	pendingBytes  int
	raw           *rawLayout // nil until the layout of raw events is made

	record []string
}

func newCSVWriter(w io.Writer) *csvWriter {
	c := &csvWriter{w: w}
	c.cw = csv.NewWriter(&c.buf)
	return c
}

func (c *csvWriter) ContentType() string { return "text/csv; charset=utf-8" }

func (c *csvWriter) Begin(h Header) error {
	c.h = h
	if h.Raw {
		return nil
	}
	return c.writeHeader(h.Columns)
}

func (c *csvWriter) Row(cells []Cell) error {
	if err := checkRow(&c.h, cells); err != nil {
		return err
	}
	return c.write(cells)
}

func (c *csvWriter) Event(line []byte) error {
	if err := checkEvent(&c.h); err != nil {
		return err
	}
	ev := parseEvent(line)
	if c.raw != nil {
		return c.write(c.raw.row(ev))
	}
	c.pendingEvents = append(c.pendingEvents, ev)
	c.pendingBytes += eventBytes(ev)
	if len(c.pendingEvents) >= maxBufferedRows || c.pendingBytes >= maxBufferedBytes {
		return c.commit(false)
	}
	return nil
}

func (c *csvWriter) Flush() error {
	if c.h.Raw && c.raw == nil && len(c.pendingEvents) > 0 {
		if err := c.commit(false); err != nil {
			return err
		}
	}
	return flushUnderlying(c.w)
}

// End writes a failure as a last line "# error: ...": a reader that skips
// # comments skips it, any other sees a record with the wrong field count.
func (c *csvWriter) End(errMsg string) error {
	if c.h.Raw && c.raw == nil {
		if err := c.commit(true); err != nil {
			return err
		}
	}
	if errMsg == "" {
		return nil
	}
	b := append([]byte("# error: "), visible(errMsg, false)...)
	_, err := c.w.Write(append(b, '\n'))
	return err
}

func (c *csvWriter) commit(complete bool) error {
	c.raw = newRawLayout(c.pendingEvents, complete, true, nanoLayout)
	if err := c.writeHeader(c.raw.columns); err != nil {
		return err
	}
	for _, ev := range c.pendingEvents {
		if err := c.write(c.raw.row(ev)); err != nil {
			return err
		}
	}
	c.pendingEvents, c.pendingBytes = nil, 0
	return nil
}

func (c *csvWriter) writeHeader(names []string) error {
	cells := make([]Cell, len(names))
	for i, n := range names {
		cells[i] = Cell{Kind: String, Str: n}
	}
	return c.write(cells)
}

func (c *csvWriter) write(cells []Cell) error {
	c.record = c.record[:0]
	for _, cell := range cells {
		s := text(cell, "")
		if cell.Kind == String && formulaStart(s) {
			s = "'" + s
		}
		c.record = append(c.record, visible(s, true))
	}
	if err := c.cw.Write(c.record); err != nil {
		return err
	}
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		return err
	}
	_, err := c.w.Write(c.buf.Bytes())
	c.buf.Reset()
	return err
}

// formulaStart reports a string a spreadsheet would run as a formula
// (OWASP's CSV injection list, plus the full-width forms some spreadsheets
// also accept).
func formulaStart(s string) bool {
	if s == "" {
		return false
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	r, _ := utf8.DecodeRuneInString(s)
	return strings.ContainsRune("＝＋－＠", r)
}
