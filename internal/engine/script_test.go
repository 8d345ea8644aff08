package engine

// Script tests: testdata/script/*.txt. A file starts with its events, one
// JSON line each ("#" lines are comments), stored as source "s1". Then
// cases, each opened by a line "=== NAME [OPTION ...]":
//
//	=== p99 by method [pii]    options: pii (a client without pii),
//	stats p99(d) by m                   max-groups=N, max-memory=N,
//	----                                cancelled (the deadline passed)
//	{"m":"a","p99_d":90}
//
// The query runs at now = 2026-01-01T01:00:00Z with the events in memory,
// in two segments, and half in each; all three must give the same output,
// which the file holds after "----": stats rows and fields as JSON objects
// in column order, events with their keys sorted (a segment orders keys by
// its schema), or "error: MESSAGE". go test -update rewrites the outputs.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"stele/internal/dremel"
	"stele/internal/goldenfile"
	"stele/internal/query"
	"stele/internal/segment"
	"stele/internal/table"
)

var scriptNow = time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)

type scriptCase struct {
	head  string // the "===" line
	query string
}

func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/script/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no script files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			events, cases := parseScript(t, string(b))
			var lines []line
			for _, e := range events {
				if strings.HasPrefix(e, "#") {
					continue
				}
				v, err := dremel.ParseEvent(e)
				if err != nil {
					t.Fatalf("event %s: %v", e, err)
				}
				lines = append(lines, line{e, table.TimeOf(v)})
			}
			srcs := sources(t, lines)
			var out strings.Builder
			out.WriteString(strings.Join(events, "\n") + "\n")
			for _, c := range cases {
				got := ""
				for i, l := range layouts {
					res := runScriptCase(t, c, srcs[l], layoutCaches[l])
					if i > 0 && res != got {
						t.Errorf("%s: %s gives\n%s\n%s gives\n%s", c.head, layouts[0], got, l, res)
					}
					got = res
				}
				fmt.Fprintf(&out, "\n%s\n%s\n----\n%s", c.head, c.query, got)
			}
			goldenfile.Check(t, filepath.Join("script", filepath.Base(file)), []byte(out.String()))
		})
	}
}

func parseScript(t *testing.T, text string) (events []string, cases []scriptCase) {
	parts := strings.Split("\n"+strings.TrimSuffix(text, "\n"), "\n===")
	for _, l := range strings.Split(strings.TrimPrefix(parts[0], "\n"), "\n") {
		if l != "" {
			events = append(events, l)
		}
	}
	for _, p := range parts[1:] {
		head, rest, _ := strings.Cut(p, "\n")
		q, _, ok := strings.Cut(rest, "\n----")
		if !ok {
			t.Fatalf("case %q has no ----", head)
		}
		cases = append(cases, scriptCase{head: "===" + head, query: q})
	}
	return events, cases
}

func runScriptCase(t *testing.T, c scriptCase, src Source, cache *segment.Cache) string {
	o := Options{Now: scriptNow, Cache: cache}
	ctx := context.Background()
	var opts string
	if strings.HasSuffix(c.head, "]") {
		opts = c.head[strings.LastIndex(c.head, "[")+1 : len(c.head)-1]
	}
	for _, opt := range strings.Fields(opts) {
		k, v, _ := strings.Cut(opt, "=")
		n, _ := strconv.Atoi(v)
		switch k {
		case "pii":
			o.Tokens = NewTokenizer([]byte("script-test-secret"))
		case "max-groups":
			o.MaxGroups = n
		case "max-memory":
			o.MaxMemory = int64(n)
		case "cancelled":
			c, cancel := context.WithCancel(ctx)
			cancel()
			ctx = c
		}
	}
	q, err := query.Parse(c.query)
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	var out scriptOut
	if _, err := Run(ctx, q, src, o, &out); err != nil {
		return out.b.String() + "error: " + err.Error() + "\n"
	}
	return out.b.String()
}

// scriptOut prints rows as JSON objects and events with sorted keys.
type scriptOut struct {
	cols []string
	b    strings.Builder
}

func (o *scriptOut) Begin(h Header) error { o.cols = h.Columns; return nil }

func (o *scriptOut) Row(vals []Val) error {
	b := []byte{'{'}
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = dremel.AppendString(b, o.cols[i])
		b = append(b, ':')
		b = AppendJSON(b, v)
	}
	o.b.Write(append(b, "}\n"...))
	return nil
}

func (o *scriptOut) Event(line []byte) error {
	v, err := dremel.ParseJSON(string(line))
	if err != nil {
		return err
	}
	o.b.WriteString(canonicalJSON(v) + "\n")
	return nil
}
