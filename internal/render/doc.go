// Package render writes query results in the formats of the query API
// (DESIGN section 3, "Query API"): ndjson (the default), table, csv and
// svg. The engine hands a Writer a Header, then rows of typed Cells (stats
// results) or raw event lines, then End; the Writer writes to the HTTP
// response as it goes.
//
// # Streaming
//
// Every call writes whole lines with a single Write, and a Writer keeps
// nothing back that its format does not need: ndjson and csv of stats rows
// write each row at once; table buffers up to maxBufferedRows rows (and
// maxBufferedBytes) to choose its column widths, and table and csv buffer
// as many raw events to choose their columns; svg buffers every row, up
// to maxChartRows, and draws at End. Flush commits a table or csv layout
// early (the engine calls it before a follow query waits) and flushes the
// response. Memory is bounded by the limits in limits.go whatever the input.
//
// # Formats
//
// ndjson: one JSON object per row, keys = column names as they are (a name
// "a.b" is the flat key "a.b"), values typed: integers, number literals as
// written, strings escaped by package jsonstr, nested JSON compact, null.
// A raw event is written as the line it is. A failure midway ends the
// output with {"_error":"..."}.
//
// table: a header line, then one line per row, columns two spaces apart,
// padded to the widest value among the buffered rows (at most
// maxColumnWidth runes); later, wider values overflow their column rather
// than realign what was already written. Widths count runes, not terminal
// cells, so wide East Asian characters misalign. Numeric columns are
// right-aligned. The time_ns column of an every query and the time of raw
// events are shown as RFC 3339 in UTC to the millisecond, in a column
// named "time" ("_time" if another column has that name); null is "null".
// Every value and name is escaped for a terminal (see appendVisible): no
// control character, ANSI escape sequence, bidi override, line break or
// invalid UTF-8 byte reaches the terminal as it is. A failure ends the
// output with a line "# error: ...".
//
// csv: RFC 4180 through encoding/csv with a header record. Stats rows are
// the columns as they are (time_ns stays an integer). Raw events get a
// "time" column (RFC 3339, UTC, to the nanosecond) and time_ns, then their
// keys like table's. null and the empty string are both empty fields.
// Values keep tab, CR and LF (quoted, as CSV allows); other control
// characters and invalid UTF-8 are escaped as in table, so a csv printed
// on a terminal is as safe as a table. Formula injection: a string value
// or name starting with = + - @ tab or CR (or a full-width = + - @) gets a
// leading single quote, so spreadsheets show it as text rather than run it;
// numbers (e.g. -5) are never changed. The price is that such strings are
// not exact in csv; ndjson is the exact format. A failure ends the output
// with a line "# error: ...", which readers that skip # comments skip and
// others see as a record with the wrong number of fields.
//
// Raw events in table and csv: the columns are the union of the top-level
// keys of the buffered events in first-seen order (at most maxRawColumns;
// time_ns is shown as the time column). Keys without a column of their
// own — past that bound, or new in an event after the layout was made —
// are written to a last column "_other" as one compact JSON object; that
// column exists only when such keys can occur (the layout was made before
// the end, or the bound was reached). Nested objects and arrays are
// compact JSON; absent keys are null.
//
// svg: a standalone SVG 1.1 file of an every query (Header.Time >= 0;
// Begin refuses anything else with ErrNeedsEvery). One panel per value
// column (each aggregate has its own unit), at most maxPanels, with a
// shared time axis (UTC, round tick spacings) and round value ticks (1, 2
// or 5 times a power of ten, including 0). One line per series, a series
// being a distinct combination of the group-key values; the maxSeries
// series with the largest total of the first value column are drawn, and
// the legend says "top N of M series" when there are more. Rows past
// maxChartRows are not drawn and a red note in the chart says so, as it
// says a failure midway. All text (titles, legend, notes) is escaped as
// XML after the terminal escaping above, so a value cannot end an element
// or start a script; nothing from the data is ever placed in an attribute.
package render
