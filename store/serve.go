package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"stele/internal/bytesize"
	"stele/internal/collect"
	"stele/internal/engine"
	"stele/internal/event"
	"stele/internal/httpserver"
	"stele/internal/ingest"
	"stele/internal/mtls"
	"stele/internal/ownevents"
	"stele/internal/sources"
	"stele/internal/timespec"
)

// serveConfig is the parsed command line of the server.
type serveConfig struct {
	dir             string
	sources         string
	tlsCert, tlsKey string
	listen          string
	allow           string
	maxAge          time.Duration
	maxBytes        bytesize.Value
	backfill        int
	memory          bytesize.Value
	maxConns        int
	queryMemory     bytesize.Value
	queryCache      bytesize.Value
}

// durationValue is a flag that takes timespec durations ("30d", "12h").
type durationValue struct{ d *time.Duration }

func (v durationValue) String() string {
	if v.d == nil {
		return ""
	}
	return v.d.String()
}

func (v durationValue) Set(s string) error {
	d, ok := timespec.Duration(s)
	if !ok {
		return fmt.Errorf("want a positive duration such as 30d or 12h, got %q", s)
	}
	*v.d = d
	return nil
}

const serveUsage = `usage: store -dir DIR -sources FILE -tls-cert FILE -tls-key FILE -listen ADDR -allow FILE
             [-max-age 30d] [-max-bytes 0] [-backfill-workers 4] [-memory 64MB]
             [-query-memory 64MB] [-query-cache 256MB]

Pulls events from the supervisors in the sources file, keeps them in DIR and
answers GET /status and queries (GET and POST /query) over HTTPS (client certificates in the allow file).
Flags:
`

func parseServe(args []string, stderr io.Writer) (serveConfig, error) {
	c := serveConfig{maxAge: 30 * 24 * time.Hour, memory: defaultMemory, queryMemory: queryMemory, queryCache: engine.DefaultCacheBytes}
	fs := flag.NewFlagSet("store", flag.ContinueOnError)
	// Mistakes are reported once, by main, with exit status 2; only -h
	// prints the flags.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&c.dir, "dir", "", "directory of the store's data (required)")
	fs.StringVar(&c.sources, "sources", "", "file of supervisors to pull from: NAME URL FINGERPRINT per line (required)")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "the store's certificate, presented to supervisors and clients (required)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "its private key (required)")
	fs.StringVar(&c.listen, "listen", "", "address of the HTTPS API, e.g. :7444 (required)")
	fs.StringVar(&c.allow, "allow", "", "allowed client certificates: FINGERPRINT [pii] per line (required)")
	fs.Var(durationValue{&c.maxAge}, "max-age", "delete events older than this (e.g. 30d)")
	fs.Var(&c.maxBytes, "max-bytes", "delete the oldest events while segments take more than this (0: no limit)")
	fs.IntVar(&c.backfill, "backfill-workers", 4, "fetches of older chunks at once, across all sources")
	fs.Var(&c.memory, "memory", "bound on events held in memory before they are in segments")
	fs.IntVar(&c.maxConns, "max-conns", 256, "concurrent HTTPS connections at most")
	fs.Var(&c.queryMemory, "query-memory", "what one query may hold in memory (groups, distinct sets, values for percentiles, rows to sort); beyond it the query fails with 422")
	fs.Var(&c.queryCache, "query-cache", "decoded segment columns kept for later queries, shared by all (0: none)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, serveUsage)
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return c, err
		}
		return c, usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return c, usagef("unexpected argument %q", fs.Arg(0))
	}
	for _, f := range []struct{ name, v string }{
		{"-dir", c.dir}, {"-sources", c.sources}, {"-tls-cert", c.tlsCert},
		{"-tls-key", c.tlsKey}, {"-listen", c.listen}, {"-allow", c.allow},
	} {
		if f.v == "" {
			return c, usagef("%s is required", f.name)
		}
	}
	if c.backfill < 1 || c.backfill > maxBackfillWorkers {
		return c, usagef("-backfill-workers must be 1 to %d", maxBackfillWorkers)
	}
	if c.memory < minMemory {
		return c, usagef("-memory must be at least %d bytes", minMemory)
	}
	if c.queryMemory < minQueryMemory {
		return c, usagef("-query-memory must be at least %d bytes", minQueryMemory)
	}
	if c.queryCache < 0 {
		return c, usagef("-query-cache must not be negative")
	}
	if c.maxBytes < 0 {
		return c, usagef("-max-bytes must not be negative")
	}
	if c.maxConns < 1 {
		return c, usagef("-max-conns must be positive")
	}
	return c, nil
}

// server is a running store.
type server struct {
	cfg     serveConfig
	stderr  io.Writer
	store   *ingest.Store
	rec     *ownevents.Recorder
	coll    *collect.Collector
	allow   *mtls.Allow
	srv     *httpserver.Server
	started time.Time

	query    *queryAPI
	stopping chan struct{} // closed when the store begins to stop

	// mu guards srcs, the sources in force.
	mu   sync.Mutex
	srcs []sources.Source
}

// serve runs the store until SIGTERM or SIGINT.
func serve(args []string, stderr io.Writer) error {
	cfg, err := parseServe(args, stderr)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.dir, 0o750); err != nil {
		return err
	}
	unlock, err := lockDir(cfg.dir)
	if err != nil {
		return err
	}
	defer unlock()
	cert, err := mtls.LoadKeyPair(cfg.tlsCert, cfg.tlsKey)
	if err != nil {
		return err
	}
	list, err := mtls.LoadAllowList(cfg.allow, "pii")
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.allow, err)
	}
	srcs, err := sources.Load(cfg.sources)
	if err != nil {
		return err // sources.Load names the file
	}
	st, rep, err := ingest.Open(ingest.Options{
		Dir:         cfg.dir,
		DedupBudget: dedupBudget,
		MemoryBytes: int64(cfg.memory),
	})
	if err != nil {
		return err
	}
	setHeapLimit(cfg, 0)
	secret, err := engine.LoadSecret(filepath.Join(cfg.dir, "pii.secret"))
	if err != nil {
		st.Close()
		return err
	}
	s := &server{cfg: cfg, stderr: stderr, store: st, stopping: make(chan struct{}), allow: mtls.NewAllow(list), started: time.Now(), srcs: srcs}
	s.rec = ownevents.Start(st, nil)
	s.query = newQueryAPI(s, secret)
	s.event("store_started", func(b *event.Builder) {
		b.Str("dir", cfg.dir)
		b.Int("sources", int64(len(srcs)))
		b.Int("replayed_batches", rep.Batches)
		b.Int("replayed_events", int64(rep.Lines))
		b.Int("torn_bytes", rep.TornBytes)
		if rep.Corrupt != "" {
			b.Str("log_corrupt", rep.Corrupt)
			b.Int("log_lost_bytes", rep.LostBytes)
		}
	})
	s.coll = collect.New(collect.Options{
		Cert:            cert,
		Store:           st,
		BackfillWorkers: cfg.backfill,
		MaxAge:          cfg.maxAge,
		Event:           s.rec.Line,
	})
	s.coll.SetSources(srcs)

	stopMaint := make(chan struct{})
	var maint sync.WaitGroup
	s.startMaintenance(stopMaint, &maint)

	if err := s.startHTTP(cert); err != nil {
		close(stopMaint)
		maint.Wait()
		s.coll.Close()
		s.rec.Close()
		st.Close()
		return err
	}
	served := make(chan error, 1)
	go func() { served <- s.srv.Serve() }()

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	var serveErr error
loop:
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				s.reload()
				continue
			}
			s.event("store_stopping", func(b *event.Builder) { b.Str("signal", sig.String()) })
			break loop
		case serveErr = <-served:
			break loop
		}
	}

	close(s.stopping) // ends follow streams, so shutdown need not wait for them
	ctx, cancel := context.WithTimeout(context.Background(), httpShutdownGrace)
	s.srv.Shutdown(ctx)
	cancel()
	s.coll.Close()
	close(stopMaint)
	maint.Wait()
	if _, err := st.Flush(); err != nil {
		fmt.Fprintf(stderr, "store: error: final flush: %v (the write-ahead log keeps the events)\n", err)
	}
	s.rec.Close()
	if _, err := st.Flush(); err != nil {
		fmt.Fprintf(stderr, "store: error: final flush: %v (the write-ahead log keeps the events)\n", err)
	}
	if err := st.Close(); err != nil {
		return err
	}
	if serveErr != nil && !errors.Is(serveErr, errServerClosed) {
		return serveErr
	}
	return nil
}

// event records an own event of the store.
func (s *server) event(name string, fill func(b *event.Builder)) { s.rec.Event(name, fill) }

// reload re-reads the sources and allow files; a bad file keeps the one in
// force, and says why.
func (s *server) reload() {
	list, err := mtls.LoadAllowList(s.cfg.allow, "pii")
	if err != nil {
		s.event("allow_reload_failed", func(b *event.Builder) {
			b.Str("file", s.cfg.allow)
			b.Str("error", err.Error())
		})
		fmt.Fprintf(s.stderr, "store: error: %s: %v (keeping the list in force)\n", s.cfg.allow, err)
	} else {
		s.allow.Store(list)
		s.event("allow_reloaded", func(b *event.Builder) { b.Int("allowed", int64(list.Len())) })
	}
	srcs, err := sources.Load(s.cfg.sources)
	if err != nil {
		s.event("sources_reload_failed", func(b *event.Builder) {
			b.Str("file", s.cfg.sources)
			b.Str("error", err.Error())
		})
		fmt.Fprintf(s.stderr, "store: error: %v (keeping the sources in force)\n", err)
		return
	}
	s.mu.Lock()
	added, removed, changed := sources.Diff(s.srcs, srcs)
	s.srcs = srcs
	s.mu.Unlock()
	s.coll.SetSources(srcs)
	s.event("sources_reloaded", func(b *event.Builder) {
		b.Int("sources", int64(len(srcs)))
		b.Int("added", int64(len(added)))
		b.Int("removed", int64(len(removed)))
		b.Int("changed", int64(len(changed)))
	})
}

// lockDir takes an exclusive lock on DIR/lock, so two stores never share a
// directory; the lock goes with the process, however it ends.
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is in use by another store process", dir)
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { f.Close() }, nil
}

// setHeapLimit sets the Go heap's soft limit, unless GOMEMLIMIT does: the
// heap holds up to -memory of events twice over (one memtable filling, one
// being flushed) plus encoders and the index, and the query cache on top,
// counted at what it holds now (cached bytes), not its bound, so that an
// empty cache does not let the heap grow. The limit makes the collector
// work harder before RSS passes it.
func setHeapLimit(cfg serveConfig, cached int64) {
	if limitFromEnv {
		return
	}
	debug.SetMemoryLimit(int64(cfg.memory)*memoryLimitFactor + memoryLimitBase + cached)
}

// limitFromEnv is whether GOMEMLIMIT set the heap's limit, looked up once.
var limitFromEnv = os.Getenv("GOMEMLIMIT") != ""
