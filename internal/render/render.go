package render

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Kind is the JSON type of a Cell.
type Kind uint8

// The kinds of cell values.
const (
	Null   Kind = iota
	Bool        // Cell.Bool
	Int         // Cell.Int
	Float       // Cell.Str: a JSON number literal as written (fractional, negative, huge)
	String      // Cell.Str: any bytes; invalid UTF-8 is escaped or replaced per format
	JSON        // Cell.Str: raw JSON text of a nested object or array
)

// Cell is one value of a result row.
type Cell struct {
	Kind Kind
	Str  string
	Int  int64
	Bool bool
}

// Header describes the rows that follow.
type Header struct {
	Columns []string // output names, in order
	Time    int      // index of the time_ns column of an every query (bucket start), or -1
	Keys    int      // number of group-key columns right after the time column (after 0 without it)
	Raw     bool     // results are raw events, sent with Event; Columns is then ignored
}

// Writer renders one query result. The engine calls Begin once, then Row
// (stats results) or Event (raw results) per result, Flush whenever it is
// about to wait for more (follow), and End once.
//
// Each call writes whole lines with one Write when it writes at all; a
// Writer holds rows back only where its format needs to (see the package
// documentation). A Writer is not safe for concurrent use.
type Writer interface {
	// Begin starts the result. An error means the format cannot show this
	// result (svg of a query without every) and nothing was written.
	Begin(h Header) error
	// Row writes one row; len(cells) must be len(h.Columns).
	Row(cells []Cell) error
	// Event writes one raw event, a JSON object on one line.
	Event(line []byte) error
	// Flush writes what the format holds back, as far as it can (table and
	// csv commit their layout; svg cannot), then flushes the underlying
	// writer if it is an http.Flusher or has a Flush() error method.
	Flush() error
	// End finishes the result. errMsg != "" says the query failed midway;
	// each format says so in-band, since the HTTP status is already sent.
	End(errMsg string) error
	// ContentType is the value for the Content-Type header.
	ContentType() string
}

// Formats lists the format names New accepts; the first is the default.
var Formats = []string{"ndjson", "table", "csv", "svg"}

// Errors of this package.
var (
	ErrUnknownFormat = errors.New("render: unknown format")
	ErrNeedsEvery    = errors.New("render: svg needs a stats ... every query")
	ErrNoValues      = errors.New("render: svg needs a stats query with at least one aggregate")
	ErrColumnCount   = errors.New("render: row has a different number of cells than the header")
	ErrRawChart      = errors.New("render: svg cannot chart raw events")
	ErrRowInRaw      = errors.New("render: Row called for a result of raw events")
	ErrEventInRows   = errors.New("render: Event called for a result of rows")
)

// New returns a Writer of the named format writing to w; "" is ndjson.
func New(format string, w io.Writer) (Writer, error) {
	switch format {
	case "", "ndjson":
		return &ndjsonWriter{w: w}, nil
	case "table":
		return &tableWriter{w: w}, nil
	case "csv":
		return newCSVWriter(w), nil
	case "svg":
		return &svgWriter{w: w}, nil
	}
	return nil, fmt.Errorf("%w %q; known: %s", ErrUnknownFormat, clipRunes(format, 20), strings.Join(Formats, ", "))
}

// flushUnderlying flushes w if it can be flushed.
func flushUnderlying(w io.Writer) error {
	switch f := w.(type) {
	case http.Flusher:
		f.Flush()
	case interface{ Flush() error }:
		return f.Flush()
	}
	return nil
}

func checkRow(h *Header, cells []Cell) error {
	if h.Raw {
		return ErrRowInRaw
	}
	if len(cells) != len(h.Columns) {
		return fmt.Errorf("%w: %d cells, %d columns", ErrColumnCount, len(cells), len(h.Columns))
	}
	return nil
}

func checkEvent(h *Header) error {
	if !h.Raw {
		return ErrEventInRows
	}
	return nil
}

// text is a cell as table and csv show it, before escaping: strings as
// they are, numbers as written, nested values as JSON, null as "null"
// (table) or "" (csv, which has no null).
func text(c Cell, null string) string {
	switch c.Kind {
	case Bool:
		return strconv.FormatBool(c.Bool)
	case Int:
		return strconv.FormatInt(c.Int, 10)
	case Float, String, JSON:
		return c.Str
	}
	return null
}

// timeLayout formats times in table: UTC, to the millisecond, fixed width.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// nanoLayout formats times in csv: UTC, to the nanosecond, fixed width.
const nanoLayout = "2006-01-02T15:04:05.000000000Z07:00"

func formatTime(ns int64, layout string) string {
	return time.Unix(0, ns).UTC().Format(layout)
}

// timeName is the header of a formatted time column: "time", or "_time"
// when another column already has that name.
func timeName(others []string) string {
	if slices.Contains(others, "time") {
		return "_time"
	}
	return "time"
}

// clipRunes shortens s to at most n (>= 1) runes, ending in "…" when it does.
func clipRunes(s string, n int) string {
	cut, k := 0, 0
	for i := range s {
		if k == n-1 {
			cut = i
		}
		if k == n {
			return s[:cut] + "…"
		}
		k++
	}
	return s
}
