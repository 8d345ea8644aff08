package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"stele/internal/engine"
	"stele/internal/event"
	"stele/internal/ingest"
	"stele/internal/mtls"
	"stele/internal/query"
	"stele/internal/render"
	"stele/internal/segment"
)

// queryAPI answers POST /query and GET /query?q= (DESIGN section 3).
type queryAPI struct {
	s       *server
	tokens  *engine.Tokenizer
	running chan struct{}  // one token per query running
	cache   *segment.Cache // of -query-cache bytes, or nil
}

func newQueryAPI(s *server, secret []byte) *queryAPI {
	a := &queryAPI{s: s, tokens: engine.NewTokenizer(secret), running: make(chan struct{}, maxQueries)}
	if s.cfg.queryCache > 0 {
		a.cache = segment.NewCache(int64(s.cfg.queryCache))
	}
	return a
}

// countingWriter counts what reaches the client.
type countingWriter struct {
	w     http.ResponseWriter
	n     int64
	begun bool
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) Flush() error {
	return http.NewResponseController(c.w).Flush()
}

// output adapts a render.Writer to the engine: the status and headers go
// out with the first result, so errors before it are plain 4xx answers.
type output struct {
	w   render.Writer
	cw  *countingWriter
	buf []render.Cell
}

func (o *output) Begin(h engine.Header) error {
	// The headers are set first: a format may write its first line in
	// Begin, which sends them.
	o.cw.w.Header().Set("Content-Type", o.w.ContentType())
	o.cw.w.Header().Set("X-Content-Type-Options", "nosniff")
	if err := o.w.Begin(render.Header{Columns: h.Columns, Time: h.Time, Keys: h.Keys, Raw: h.Raw}); err != nil {
		return err // nothing written: the caller answers with an error
	}
	if o.cw.n == 0 {
		o.cw.w.WriteHeader(http.StatusOK)
	}
	o.cw.begun = true
	return nil
}

func (o *output) Row(vals []engine.Val) error {
	o.buf = o.buf[:0]
	for _, v := range vals {
		o.buf = append(o.buf, cell(v))
	}
	return o.w.Row(o.buf)
}

func (o *output) Event(line []byte) error { return o.w.Event(line) }

func cell(v engine.Val) render.Cell {
	switch v.Kind {
	case engine.Bool:
		return render.Cell{Kind: render.Bool, Bool: v.B}
	case engine.Int:
		return render.Cell{Kind: render.Int, Int: v.I}
	case engine.Num:
		return render.Cell{Kind: render.Float, Str: v.S}
	case engine.Str:
		return render.Cell{Kind: render.String, Str: v.S}
	case engine.JSON:
		return render.Cell{Kind: render.JSON, Str: v.S}
	}
	return render.Cell{Kind: render.Null}
}

// queryRecord is what the query event records.
type queryRecord struct {
	client   string
	pii      bool
	text     string // with values compared with pii fields redacted
	raw      string // as sent, kept (as pii_query) only for a client with pii
	format   string
	outcome  string
	errMsg   string
	st       engine.Stats
	bytes    int64
	duration time.Duration
}

func (a *queryAPI) handle(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := queryRecord{format: r.URL.Query().Get("format"), outcome: "ok"}
	fp, _ := mtls.PeerFingerprint(r.TLS)
	rec.client = fp.String()
	rec.pii = a.s.allow.Load().HasTag(fp, "pii")
	cw := &countingWriter{w: w}
	defer func() {
		rec.bytes, rec.duration = cw.n, time.Since(start)
		a.record(&rec)
	}()
	fail := func(code int, outcome string, err error) {
		rec.outcome, rec.errMsg = outcome, err.Error()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(code)
		io.WriteString(cw, oneLine(err.Error())+"\n")
	}

	text, err := queryText(r)
	if err != nil {
		fail(http.StatusBadRequest, "error", err)
		return
	}
	// Recorded as sent only for a pii client, as pii_query.
	rec.raw, rec.text = text, redacted(text)
	select {
	case a.running <- struct{}{}:
		defer func() { <-a.running }()
	default:
		fail(http.StatusServiceUnavailable, "busy", fmt.Errorf("%d queries are running, the most at once; try again shortly", maxQueries))
		return
	}
	q, err := query.Parse(text)
	if err != nil {
		fail(http.StatusBadRequest, "error", err)
		// The message quotes the text, which may hold raw personal data:
		// keep where the error was only.
		var se *query.SyntaxError
		if errors.As(err, &se) {
			rec.errMsg = fmt.Sprintf("line %d, column %d", se.Line, se.Col)
		}
		return
	}
	rw, err := render.New(rec.format, cw)
	if err != nil {
		fail(http.StatusBadRequest, "error", err)
		return
	}
	o := engine.Options{Now: time.Now(), MaxMemory: int64(a.s.cfg.queryMemory), MaxGroups: queryGroups, Cache: a.cache}
	if !rec.pii {
		o.Tokens = a.tokens
	}
	var follow *engine.Follower
	if q.Follow {
		if follow, err = engine.NewFollower(q, o); err != nil {
			fail(http.StatusBadRequest, "error", err)
			return
		}
	}
	out := &output{w: rw, cw: cw}
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	view := a.s.store.View()
	next := a.s.store.Next()
	rec.st, err = engine.Run(ctx, q, engine.Source{Segments: view.Snap.Segments, Mem: view.Mem}, o, out)
	view.Release()
	if err == nil && follow != nil {
		rw.Flush()
		err = a.follow(r.Context(), follow, next, out, &rec.st)
	}
	switch {
	case err == nil:
	case !cw.begun && (errors.Is(err, render.ErrNeedsEvery) || errors.Is(err, render.ErrNoValues) || errors.Is(err, render.ErrRawChart)):
		fail(http.StatusBadRequest, "error", err)
		return
	case !cw.begun:
		code, outcome := http.StatusBadRequest, "error"
		var se *query.SyntaxError
		var le *engine.LimitError
		switch {
		case r.Context().Err() != nil: // the client left: the deadline's limit error is not why
			outcome = "canceled"
		case errors.As(err, &le):
			code, outcome = http.StatusUnprocessableEntity, "limit"
			err = errors.New(le.Msg) // without where in the store it happened
		case !errors.As(err, &se):
			code = http.StatusInternalServerError
			a.s.event("query_failed", func(b *event.Builder) { b.Str("error", err.Error()) })
			err = errors.New("the query failed inside the store; its events say why")
		}
		fail(code, outcome, err)
		return
	default:
		rec.outcome, rec.errMsg = "error", err.Error()
		var le *engine.LimitError
		if errors.As(err, &le) {
			rec.outcome, err = "limit", errors.New(le.Msg)
		}
		if r.Context().Err() != nil {
			rec.outcome = "canceled"
		}
		rw.End(oneLine(err.Error()))
		return
	}
	rw.End("")
}

// follow streams new matching records until the client goes away or the
// store stops.
func (a *queryAPI) follow(ctx context.Context, f *engine.Follower, next uint64, out *output, st *engine.Stats) error {
	tick := time.NewTicker(followPoll)
	defer tick.Stop()
	for {
		changed := a.s.store.Changed()
		var recs []ingest.Record
		next, _ = a.s.store.Tail(next, func(r ingest.Record) { recs = append(recs, r) })
		if len(recs) > 0 {
			fs, err := f.Feed(ctx, recs, out)
			st.Scanned += fs.Scanned
			st.Matched += fs.Matched
			st.Rows += fs.Rows
			if err != nil {
				return err
			}
			if fs.Rows > 0 {
				if err := out.w.Flush(); err != nil {
					return err
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-a.s.stopping:
			return nil
		case <-changed:
		case <-tick.C:
		}
	}
}

// queryText reads the query from a POST body or the q parameter.
func queryText(r *http.Request) (string, error) {
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query().Get("q")
		if len(q) > query.MaxQueryBytes {
			return "", fmt.Errorf("the query is longer than %d bytes", query.MaxQueryBytes)
		}
		return q, nil
	case http.MethodPost:
		b, err := io.ReadAll(io.LimitReader(r.Body, query.MaxQueryBytes+1))
		if err != nil {
			return "", fmt.Errorf("reading the query: %v", err)
		}
		if len(b) > query.MaxQueryBytes {
			return "", fmt.Errorf("the query is longer than %d bytes", query.MaxQueryBytes)
		}
		return string(b), nil
	}
	return "", errors.New("use GET /query?q=... or POST /query with the query as the body")
}

// redacted prints the query text with the values compared with pii fields
// replaced, for the audit event (a client without pii may only use tokens,
// but a refused query may hold a raw value); text that does not parse is
// left out. It parses a copy of its own: the query that runs keeps its
// values.
func redacted(text string) string {
	q, err := query.Parse(text)
	if err != nil {
		return fmt.Sprintf("(not parsed: %d bytes)", len(text)) // text parsed once already
	}
	q.Literals(func(_ query.Cond, f query.Field, v *query.Value) {
		for _, k := range f.Path {
			if strings.HasPrefix(k, "pii_") {
				*v = query.Value{Kind: query.String, Str: "pii:redacted", Pos: v.Pos}
				return
			}
		}
	})
	return q.String()
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 1000 {
		s = s[:1000] + "..."
	}
	return s
}

// record stores the query as an event of the store.
func (a *queryAPI) record(rec *queryRecord) {
	a.s.event("query", func(b *event.Builder) {
		b.Str("client", rec.client)
		if rec.pii {
			b.Int("pii", 1)
		}
		b.Str("query", clip(rec.text))
		if rec.pii && rec.raw != rec.text {
			// Other clients see this as a token, like any personal data.
			b.Str("pii_query", clip(rec.raw))
		}
		if rec.format != "" {
			b.Str("format", clip(rec.format))
		}
		b.Str("outcome", rec.outcome)
		if rec.errMsg != "" {
			b.Str("error", clip(rec.errMsg))
		}
		b.Int("rows", rec.st.Rows)
		b.Int("scanned", rec.st.Scanned)
		b.Int("matched", rec.st.Matched)
		b.Int("bytes", rec.bytes)
		b.Int("duration_ms", rec.duration.Milliseconds())
	})
}
