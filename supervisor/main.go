// Supervisor runs one program, captures what it prints and its own events
// into an append-only chunk log on disk, and serves the log over HTTPS with
// mandatory client certificates. See README.md and DESIGN section 2.
//
//	supervisor -dir DIR [flags] -- PROGRAM [ARG...]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"stele/internal/bytesize"
	"stele/internal/capture"
	"stele/internal/child"
	"stele/internal/chunklog"
	"stele/internal/chunkserver"
	"stele/internal/event"
	"stele/internal/httpserver"
	"stele/internal/mtls"
	"stele/internal/procstat"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// config is the parsed command line.
type config struct {
	dir           string
	maxAge        time.Duration
	maxBytes      bytesize.Value
	chunkBytes    bytesize.Value
	chunkAge      time.Duration
	fsyncInterval time.Duration
	bufferBytes   bytesize.Value
	restart       string
	stopTimeout   time.Duration
	statsInterval time.Duration
	argv          []string

	listen            string
	tlsCert, tlsKey   string
	allow             string
	maxConns          int
	httpHeaderTimeout time.Duration
	httpIdleTimeout   time.Duration
	httpWriteTimeout  time.Duration
}

const usage = `usage: supervisor -dir DIR [-listen ADDR -tls-cert FILE -tls-key FILE -allow FILE] [flags] -- PROGRAM [ARG...]
       supervisor gencert -name NAME -out PREFIX [-host h1,h2] [-days N] [-key p256|ed25519]
       supervisor fingerprint FILE.crt
       supervisor version

Runs PROGRAM, keeps what it prints (and the supervisor's own events) in an
append-only chunk log in DIR. Flags:
`

func parseFlags(args []string, stderr io.Writer) (config, error) {
	c := config{maxBytes: 500_000_000, chunkBytes: 1_000_000, bufferBytes: capture.DefaultBufferBytes}
	fs := flag.NewFlagSet("supervisor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.dir, "dir", "", "directory of the chunk log (required)")
	fs.DurationVar(&c.maxAge, "max-age", 168*time.Hour, "discard closed chunks older than this")
	fs.Var(&c.maxBytes, "max-bytes", "discard the oldest chunks while the log is larger than this (e.g. 500MB)")
	fs.Var(&c.chunkBytes, "chunk-bytes", "close a chunk before it reaches this size (at most 1MB)")
	fs.DurationVar(&c.chunkAge, "chunk-age", 10*time.Minute, "close a chunk at this age")
	fs.DurationVar(&c.fsyncInterval, "fsync-interval", time.Second, "fsync the latest chunk this often: what a power loss can cost")
	fs.Var(&c.bufferBytes, "buffer-bytes", "memory for output waiting for the disk; beyond it lines are dropped and counted")
	fs.StringVar(&c.restart, "restart", "always", "restart policy: always, on-failure or never")
	fs.DurationVar(&c.stopTimeout, "stop-timeout", 10*time.Second, "after SIGTERM, SIGKILL the program if it has not exited by then")
	fs.DurationVar(&c.statsInterval, "stats-interval", 60*time.Second, "how often the program's resource use is recorded")
	fs.StringVar(&c.listen, "listen", "", "serve the chunk log over HTTPS on this address (e.g. :7443); needs -tls-cert, -tls-key and -allow")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "the server's certificate (PEM), e.g. from supervisor gencert")
	fs.StringVar(&c.tlsKey, "tls-key", "", "the server's private key (PEM)")
	fs.StringVar(&c.allow, "allow", "", "file of admitted client certificates: SHA-256 fingerprints or PEM certificates; re-read on SIGHUP")
	fs.IntVar(&c.maxConns, "max-conns", httpserver.DefaultMaxConns, "most HTTPS connections open at once; more are closed at once")
	fs.DurationVar(&c.httpHeaderTimeout, "http-header-timeout", httpserver.DefaultReadTimeout, "a request must arrive within this (at most 10s)")
	fs.DurationVar(&c.httpIdleTimeout, "http-idle-timeout", httpserver.DefaultIdleTimeout, "close keep-alive connections idle this long")
	fs.DurationVar(&c.httpWriteTimeout, "http-write-timeout", chunkserver.DefaultWriteTimeout, "each write to a client must complete within this; quiet streams have no deadline")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.argv = fs.Args()
	switch {
	case c.dir == "":
		return c, errors.New("-dir is required")
	case len(c.argv) == 0:
		return c, errors.New("no program given: supervisor -dir DIR -- PROGRAM [ARG...]")
	case c.chunkBytes < chunklog.MinChunkBytes || c.chunkBytes > chunklog.MaxChunkBytes:
		return c, fmt.Errorf("-chunk-bytes must be between %d and %d", chunklog.MinChunkBytes, chunklog.MaxChunkBytes)
	case c.chunkAge <= 0 || c.maxAge <= 0 || c.fsyncInterval <= 0 || c.stopTimeout <= 0 || c.statsInterval <= 0:
		return c, errors.New("durations must be positive")
	case c.bufferBytes < 1<<20:
		return c, errors.New("-buffer-bytes must be at least 1MiB")
	case c.listen != "" && (c.tlsCert == "" || c.tlsKey == "" || c.allow == ""):
		return c, errors.New("-listen needs -tls-cert, -tls-key and -allow")
	case c.listen == "" && (c.tlsCert != "" || c.tlsKey != "" || c.allow != ""):
		return c, errors.New("-tls-cert, -tls-key and -allow need -listen")
	case c.maxConns < 1:
		return c, errors.New("-max-conns must be at least 1")
	case c.httpHeaderTimeout <= 0 || c.httpHeaderTimeout > 10*time.Second:
		return c, errors.New("-http-header-timeout must be positive and at most 10s")
	case c.httpIdleTimeout <= 0 || c.httpWriteTimeout <= 0:
		return c, errors.New("durations must be positive")
	}
	if _, err := child.ParsePolicy(c.restart); err != nil {
		return c, err
	}
	return c, nil
}

func run(args []string, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "version":
			fmt.Println(version())
			return 0
		case "gencert":
			return mtls.Gencert("supervisor", args[1:], os.Stdout, stderr)
		case "fingerprint":
			return mtls.PrintFingerprint("supervisor", args[1:], os.Stdout, stderr)
		}
	}
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 2
		}
		fmt.Fprintf(stderr, "supervisor: error: %v\n", err)
		return 2
	}
	maxBytes := int64(cfg.maxBytes)
	if maxBytes == 0 {
		maxBytes = -1 // 0 on the command line means no limit
	}
	log, err := chunklog.Open(chunklog.Options{
		Dir:           cfg.dir,
		ChunkBytes:    int64(cfg.chunkBytes),
		ChunkAge:      cfg.chunkAge,
		MaxAge:        cfg.maxAge,
		MaxBytes:      maxBytes,
		FsyncInterval: cfg.fsyncInterval,
	})
	if err != nil {
		fmt.Fprintf(stderr, "supervisor: error: %v\n", err)
		return 1
	}
	s := &supervisor{cfg: cfg, log: log, buf: capture.NewBuffer(int(cfg.bufferBytes)), stderr: stderr}
	// Lines that find the disk idle are written by the goroutine that read
	// them; the writer takes over whatever queues behind a slow write.
	s.buf.SetWriter(s.write)
	return s.run()
}

// supervisor wires the program's pipes, the buffer, the writer and the log.
type supervisor struct {
	cfg    config
	log    *chunklog.Log
	buf    *capture.Buffer
	stderr io.Writer
	counts capture.Counts

	writeFailed atomic.Bool // lines were lost to a disk that failed for good

	// mu guards pid.
	mu  sync.Mutex
	pid int
}

// setPid records the running program's pid for resource sampling; 0 while
// none runs, so a reused pid is never sampled.
func (s *supervisor) setPid(pid int) {
	s.mu.Lock()
	s.pid = pid
	s.mu.Unlock()
}

func (s *supervisor) event(name string, fill func(b *event.Builder)) {
	b := event.Begin(nil, time.Now().UnixNano(), name)
	fill(&b)
	s.buf.PutReserved(b.End())
}

func (s *supervisor) run() int {
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		s.writeLoop()
	}()

	s.event("supervisor_started", func(b *event.Builder) {
		b.Str("version", version())
		b.Int("pid", int64(os.Getpid()))
		b.Str("program", s.cfg.argv[0])
	})

	var api *httpAPI
	if s.cfg.listen != "" {
		var err error
		if api, err = s.startHTTP(); err != nil {
			fmt.Fprintf(s.stderr, "supervisor: error: %v\n", err)
			s.buf.Close()
			<-writerDone
			s.log.Close()
			return 1
		}
	}

	// Signals go to the program; SIGHUP also re-reads the allow list first.
	raw := make(chan os.Signal, 16)
	signal.Notify(raw, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
	sigs := make(chan os.Signal, 16)
	stopSignals := make(chan struct{})
	signalsDone := make(chan struct{})
	go func() {
		defer close(signalsDone)
		for {
			select {
			case <-stopSignals:
				return
			case sig := <-raw:
				if sig == syscall.SIGHUP && api != nil {
					api.reloadAllow()
				}
				select {
				case sigs <- sig:
				case <-stopSignals:
					return
				}
			}
		}
	}()
	defer func() {
		signal.Stop(raw)
		close(stopSignals)
		<-signalsDone
	}()

	stopStats := make(chan struct{})
	statsDone := make(chan struct{})
	go func() {
		defer close(statsDone)
		s.statsLoop(stopStats)
	}()

	policy, _ := child.ParsePolicy(s.cfg.restart)
	exit := child.Run(context.Background(), child.Config{
		Argv:        s.cfg.argv,
		Restart:     policy,
		StopTimeout: s.cfg.stopTimeout,
		BackoffMin:  backoffMin,
		BackoffMax:  backoffMax,
		ResetAfter:  backoffReset,
		Output:      s.capture,
		Event:       s.buf.PutReserved,
		OnStart:     s.setPid,
		OnExit:      func() { s.setPid(0) },
	}, sigs)

	close(stopStats)
	<-statsDone
	s.event("supervisor_exiting", func(b *event.Builder) {
		b.Int("status", int64(exit.Status()))
	})
	s.buf.Close()
	<-writerDone
	err := s.log.Close()
	if api != nil {
		// After the log: followers of the latest chunk get its end first.
		api.stop()
	}
	if err != nil {
		fmt.Fprintf(s.stderr, "supervisor: error: closing the log: %v\n", err)
		return 1
	}
	if s.writeFailed.Load() {
		return 1
	}
	if exit.Err != nil {
		fmt.Fprintf(s.stderr, "supervisor: error: start %s: %v\n", s.cfg.argv[0], exit.Err)
	}
	return exit.Status()
}

// capture reads one run's stdout and stderr to EOF.
func (s *supervisor) capture(stdout, stderr *os.File, stop <-chan struct{}) {
	var wg sync.WaitGroup
	onSplit := func(stream string, n int64, parts int) {
		s.event("line_split", func(b *event.Builder) {
			b.Str("stream", stream)
			b.Int("bytes", n)
			b.Int("parts", int64(parts))
		})
	}
	for _, p := range []struct {
		name string
		f    *os.File
	}{{"stdout", stdout}, {"stderr", stderr}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := capture.NewReader(p.name, s.buf, time.Now, &s.counts, onSplit)
			if err := r.Run(p.f); err != nil {
				s.event("capture_failed", func(b *event.Builder) {
					b.Str("stream", p.name)
					b.Str("error", err.Error())
				})
			}
		}()
	}
	wg.Wait()
}

// writeLoop moves lines from the buffer to the log. A failed write is
// retried with backoff from where it stopped, so nothing is written twice
// or dropped: while it waits, the buffer fills and new lines are dropped and
// counted instead. Once the supervisor is stopping (the buffer is closed) it
// gives up after writeGiveUp, so a dead disk cannot keep it from exiting.
func (s *supervisor) writeLoop() {
	for {
		lines, drops, ok := s.buf.Take()
		if !ok {
			return
		}
		if drops.Lines > 0 {
			b := event.Begin(nil, time.Now().UnixNano(), "events_dropped")
			b.Int("count", drops.Lines)
			b.Int("bytes", drops.Bytes)
			b.Str("reason", "buffer full: the disk did not keep up")
			if !s.write(b.End()) {
				return
			}
		}
		if !s.write(lines) {
			return
		}
	}
}

// write appends lines to the log, retrying failures; it reports false when
// it gave up.
func (s *supervisor) write(lines []byte) bool {
	delay := writeRetryMin
	var failing error
	var since time.Time
	for len(lines) > 0 {
		n, err := s.log.Write(lines)
		lines = lines[n:]
		if err == nil {
			break
		}
		if errors.Is(err, chunklog.ErrClosed) {
			return false
		}
		if failing == nil {
			fmt.Fprintf(s.stderr, "supervisor: error: writing the log: %v (retrying)\n", err)
			since = time.Now()
		}
		failing = err
		if s.buf.Closed() && time.Since(since) > writeGiveUp {
			fmt.Fprintf(s.stderr, "supervisor: error: giving up on %d bytes that could not be written: %v\n", len(lines), err)
			s.writeFailed.Store(true)
			return false
		}
		time.Sleep(delay)
		delay = min(delay*2, writeRetryMax)
	}
	if failing != nil {
		b := event.Begin(nil, time.Now().UnixNano(), "write_recovered")
		b.Str("error", failing.Error())
		_, _ = s.log.Write(b.End())
	}
	return true
}

// statsLoop records the program's resource use and the capture counters.
func (s *supervisor) statsLoop(stop <-chan struct{}) {
	t := time.NewTicker(s.cfg.statsInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		s.mu.Lock()
		pid := s.pid
		s.mu.Unlock()
		if u, err := procstat.Read(pid); pid > 0 && err == nil {
			s.event("child_resources", func(b *event.Builder) {
				b.Int("pid", int64(pid))
				b.Int("rss_bytes", u.RSSBytes)
				b.Int("cpu_ms", u.CPUMillis)
				b.Int("threads", u.Threads)
				b.Int("open_files", u.OpenFiles)
				b.Int("sockets", u.Sockets)
			})
		}
		s.event("capture_stats", func(b *event.Builder) {
			b.Int("lines", s.counts.Lines.Load())
			b.Int("wrapped", s.counts.Wrapped.Load())
			b.Int("split", s.counts.Split.Load())
			b.Int("stamped", s.counts.Stamped.Load())
		})
	}
}

func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			v += " " + s.Value
		}
	}
	return v
}
