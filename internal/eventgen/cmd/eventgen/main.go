// Eventgen writes a realistic, deterministic stream of observability events
// to stdout, one JSON object per line, for Stele's benchmarks, end-to-end
// tests and demos. See package stele/internal/eventgen for the shapes.
//
// Usage:
//
//	eventgen [-n N] [-seed S] [-rate R] [-malformed F] [-duration D] [-stderr F]
//
// Without -rate it writes as fast as it can with synthetic timestamps, so
// the same seed gives the same bytes. With -rate it paces lines in real
// time, stamps them with the wall clock, and flushes at least every 10 ms so
// a supervisor sees them promptly. SIGTERM or SIGINT stop it after a flush,
// with exit status 0.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"syscall"
	"time"

	"stele/internal/eventgen"
)

// flushEvery bounds how long a paced line may sit in the buffer.
const flushEvery = 10 * time.Millisecond

// maxBurst is the most time's worth of lines the pacer catches up with
// after a stall; beyond it, lines are not owed.
const maxBurst = time.Second

// checkEvery is how many unpaced lines go out between looks at the context;
// looking costs more than a line.
const checkEvery = 1024

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintf(os.Stderr, "eventgen: error: %v\n", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("eventgen: usage")

type options struct {
	n         uint64
	seed      uint64
	rate      float64
	malformed float64
	duration  time.Duration
	stderr    float64
}

func parse(args []string, errOut io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("eventgen", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Uint64Var(&o.n, "n", 0, "number of lines to write; 0 means no limit")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed; the same seed gives the same output when unpaced")
	fs.Float64Var(&o.rate, "rate", 0, "lines per second, paced in real time with wall-clock time_ns; 0 means as fast as possible")
	fs.Float64Var(&o.malformed, "malformed", 0, "fraction of lines that are not valid events")
	fs.DurationVar(&o.duration, "duration", 0, "stop after this long; 0 means no limit")
	fs.Float64Var(&o.stderr, "stderr", 0, "fraction of lines written to stderr instead of stdout")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, errUsage
	}
	bad := func(format string, a ...any) (options, error) {
		fmt.Fprintf(errOut, "eventgen: error: "+format+"\n", a...)
		return o, errUsage
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected argument %q", fs.Arg(0))
	case !(o.rate >= 0): // also rejects NaN
		return bad("-rate must be at least 0")
	case !(o.malformed >= 0 && o.malformed <= 1):
		return bad("-malformed must be between 0 and 1")
	case !(o.stderr >= 0 && o.stderr <= 1):
		return bad("-stderr must be between 0 and 1")
	case o.duration < 0:
		return bad("-duration must be at least 0")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	cfg := eventgen.Config{Seed: o.seed, Malformed: o.malformed}
	if o.rate > 0 {
		cfg.Now = time.Now
	}
	w := &writer{
		gen:   eventgen.New(cfg),
		out:   bufio.NewWriterSize(stdout, 64<<10),
		errw:  bufio.NewWriterSize(stderr, 64<<10),
		split: threshold(o.stderr),
		// A stream of its own, so -stderr does not change which lines
		// are generated, only where they go.
		pick: rand.NewPCG(o.seed, 0x737464657272 /* "stderr" */),
	}
	if o.rate > 0 {
		err = w.paced(ctx, o.n, o.rate)
	} else {
		err = w.unpaced(ctx, o.n)
	}
	return errors.Join(err, w.flush())
}

// threshold turns a fraction into a bound for a uniform uint64 draw.
func threshold(f float64) uint64 {
	switch {
	case f >= 1:
		return ^uint64(0)
	case f > 0:
		return uint64(f * (1 << 64))
	}
	return 0
}

type writer struct {
	gen       *eventgen.Generator
	out, errw *bufio.Writer
	split     uint64 // a line goes to stderr when a draw from pick is below this
	pick      *rand.PCG
}

func (w *writer) line() error {
	b := w.out
	if w.split != 0 && w.pick.Uint64() < w.split {
		b = w.errw
	}
	// Appending into the writer's free space saves a copy per line.
	_, err := b.Write(w.gen.Append(b.AvailableBuffer()))
	return err
}

func (w *writer) flush() error {
	return errors.Join(w.out.Flush(), w.errw.Flush())
}

func (w *writer) unpaced(ctx context.Context, n uint64) error {
	for i := uint64(0); n == 0 || i < n; i++ {
		if i%checkEvery == 0 && ctx.Err() != nil {
			return nil
		}
		if err := w.line(); err != nil {
			return err
		}
	}
	return nil
}

// paced runs a token bucket refilled at rate and checked every flushEvery.
// The bucket holds at most maxBurst of lines, so after a stall (a blocked
// pipe, a stopped process) the catch-up burst is bounded; a long burst still
// looks at the context every checkEvery lines so -duration and signals are
// honoured on time.
func (w *writer) paced(ctx context.Context, n uint64, rate float64) error {
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	burst := max(rate*maxBurst.Seconds(), 1)
	tokens, last := 1.0, time.Now()
	for sent := uint64(0); ; {
		now := time.Now()
		tokens = min(tokens+rate*now.Sub(last).Seconds(), burst)
		last = now
		for ; tokens >= 1; tokens-- {
			if n != 0 && sent == n {
				return nil
			}
			if sent%checkEvery == 0 && ctx.Err() != nil {
				return nil
			}
			if err := w.line(); err != nil {
				return err
			}
			sent++
		}
		if n != 0 && sent == n {
			return nil
		}
		if err := w.flush(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
