package render

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"

	"stele/internal/jsonscan"
	"stele/internal/jsonstr"
)

// field is one top-level key of a raw event.
type field struct {
	key  string
	cell Cell
}

// parseEvent splits a raw event into its top-level fields in order, for
// table and csv. Nested objects and arrays become compact JSON cells,
// numbers keep their literal text, and an integer time_ns becomes an Int.
// A repeated key keeps its last value, as encoding/json does. A line that
// is not one JSON object (the store never hands out one) is shown whole as
// the string field "_line", the supervisor's convention for such text.
func parseEvent(line []byte) []field {
	fields, ok := parseObject(line)
	if !ok {
		return []field{{key: "_line", cell: Cell{Kind: String, Str: string(line)}}}
	}
	return fields
}

func parseObject(line []byte) ([]field, bool) {
	dec := json.NewDecoder(bytes.NewReader(line))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var fields []field
	seen := make(map[string]int)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, false
		}
		c, ok := rawCell(key, raw)
		if !ok {
			return nil, false
		}
		if i, dup := seen[key]; dup {
			fields[i].cell = c
			continue
		}
		seen[key] = len(fields)
		fields = append(fields, field{key: key, cell: c})
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false // trailing bytes
	}
	return fields, true
}

func rawCell(key string, raw []byte) (Cell, bool) {
	switch raw[0] {
	case 'n':
		return Cell{Kind: Null}, true
	case 't', 'f':
		return Cell{Kind: Bool, Bool: raw[0] == 't'}, true
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return Cell{}, false
		}
		return Cell{Kind: String, Str: s}, true
	case '{', '[':
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return Cell{}, false
		}
		return Cell{Kind: JSON, Str: b.String()}, true
	}
	if key == "time_ns" {
		if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			return Cell{Kind: Int, Int: n}, true
		}
	}
	return Cell{Kind: Float, Str: string(raw)}, true
}

// eventBytes estimates what a parsed event holds, for maxBufferedBytes.
func eventBytes(fields []field) int {
	n := 0
	for _, f := range fields {
		n += len(f.key) + len(f.cell.Str) + 16
	}
	return n
}

// rawLayout turns raw events into rows of fixed columns: a formatted time
// column from time_ns, time_ns itself if nsColumn, then the top-level keys
// of the events seen when the layout was made, in first-seen order, at
// most maxRawColumns of them. Keys without a column of their own go to a
// last column, otherName, as one compact JSON object, so nothing is
// dropped; that column exists when the first events had more keys than
// fit, or when later events could bring new ones (the layout was made
// before the end of the result).
type rawLayout struct {
	timeLayout string
	nsColumn   bool
	keys       []string
	col        map[string]int // key → index in keys
	other      bool
	columns    []string
}

const otherName = "_other"

func newRawLayout(events [][]field, complete, nsColumn bool, layout string) *rawLayout {
	l := &rawLayout{timeLayout: layout, nsColumn: nsColumn, col: make(map[string]int)}
	for _, ev := range events {
		for _, f := range ev {
			if _, ok := l.col[f.key]; ok || f.key == "time_ns" {
				continue
			}
			if len(l.keys) == maxRawColumns {
				l.other = true
				continue
			}
			l.col[f.key] = len(l.keys)
			l.keys = append(l.keys, f.key)
		}
	}
	if !complete {
		l.other = true
	}
	l.columns = append(l.columns, timeName(l.keys))
	if nsColumn {
		l.columns = append(l.columns, "time_ns")
	}
	l.columns = append(l.columns, l.keys...)
	if l.other {
		l.columns = append(l.columns, otherName)
	}
	return l
}

// row lays out one event. The time cell is a String (empty without an
// integer time_ns); absent keys are Null.
func (l *rawLayout) row(ev []field) []Cell {
	cells := make([]Cell, len(l.columns))
	first := 1 // index of the first key column
	if l.nsColumn {
		first = 2
	}
	cells[0] = Cell{Kind: String}
	var other []byte
	for _, f := range ev {
		if f.key == "time_ns" {
			if f.cell.Kind == Int && f.cell.Int >= 0 {
				cells[0].Str = formatTime(f.cell.Int, l.timeLayout)
			}
			if l.nsColumn {
				cells[1] = f.cell
			}
			continue
		}
		if i, ok := l.col[f.key]; ok {
			cells[first+i] = f.cell
			continue
		}
		if !l.other {
			panic("render: internal error: event key without a column")
		}
		if other == nil {
			other = append(other, '{')
		} else {
			other = append(other, ',')
		}
		other = jsonstr.Append(other, f.key)
		other = append(other, ':')
		other = appendCellJSON(other, f.cell)
	}
	if other != nil {
		cells[len(cells)-1] = Cell{Kind: JSON, Str: string(append(other, '}'))}
	}
	return cells
}

// appendCellJSON appends c as a JSON value. Float and JSON cells that are
// not valid JSON (the engine never makes them) are written as strings, so
// the output stays valid whatever the input.
func appendCellJSON(dst []byte, c Cell) []byte {
	switch c.Kind {
	case Bool:
		return strconv.AppendBool(dst, c.Bool)
	case Int:
		return strconv.AppendInt(dst, c.Int, 10)
	case Float:
		if jsonscan.IsNumber(c.Str) {
			return append(dst, c.Str...)
		}
		return jsonstr.Append(dst, c.Str)
	case String:
		return jsonstr.Append(dst, c.Str)
	case JSON:
		s := strings.TrimSpace(c.Str)
		if (strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")) && json.Valid([]byte(s)) {
			if !strings.ContainsAny(s, " \t\r\n") {
				return append(dst, s...)
			}
			var b bytes.Buffer
			if json.Compact(&b, []byte(s)) == nil {
				return append(dst, b.Bytes()...)
			}
		}
		return jsonstr.Append(dst, c.Str)
	}
	return append(dst, "null"...)
}
