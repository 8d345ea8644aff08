package render

import (
	"bytes"
	"encoding/json"
	"io"

	"stele/internal/jsonstr"
)

// ndjsonWriter writes one JSON object per line, never holding a row back.
type ndjsonWriter struct {
	w    io.Writer
	h    Header
	keys [][]byte // each column name as a JSON string and ':'
	line []byte
}

func (n *ndjsonWriter) ContentType() string { return "application/x-ndjson" }

func (n *ndjsonWriter) Begin(h Header) error {
	n.h = h
	if h.Raw {
		return nil
	}
	for _, c := range h.Columns {
		n.keys = append(n.keys, append(jsonstr.Append(nil, c), ':'))
	}
	return nil
}

func (n *ndjsonWriter) Row(cells []Cell) error {
	if err := checkRow(&n.h, cells); err != nil {
		return err
	}
	b := append(n.line[:0], '{')
	for i, c := range cells {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, n.keys[i]...)
		b = appendCellJSON(b, c)
	}
	n.line = append(b, '}', '\n')
	_, err := n.w.Write(n.line)
	return err
}

// Event writes the event line as it is. A line that is not one JSON
// object on one line (the store never hands out one) is written as
// {"_line":"<its text>"}, so every output line stays one JSON object.
func (n *ndjsonWriter) Event(line []byte) error {
	if err := checkEvent(&n.h); err != nil {
		return err
	}
	line = bytes.TrimSpace(line)
	b := n.line[:0]
	switch {
	case len(line) > 0 && line[0] == '{' && json.Valid(line):
		if bytes.ContainsAny(line, "\r\n") {
			var c bytes.Buffer
			_ = json.Compact(&c, line) // valid, so no error
			b = append(b, c.Bytes()...)
		} else {
			b = append(b, line...)
		}
	default:
		b = append(b, `{"_line":`...)
		b = jsonstr.Append(b, string(line))
		b = append(b, '}')
	}
	n.line = append(b, '\n')
	_, err := n.w.Write(n.line)
	return err
}

func (n *ndjsonWriter) Flush() error { return flushUnderlying(n.w) }

func (n *ndjsonWriter) End(errMsg string) error {
	if errMsg == "" {
		return nil
	}
	b := append(n.line[:0], `{"_error":`...)
	b = jsonstr.Append(b, errMsg)
	n.line = append(b, '}', '\n')
	_, err := n.w.Write(n.line)
	return err
}
