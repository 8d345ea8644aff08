// Package eventgen generates a realistic, deterministic stream of
// observability events, one JSON object per line, for Stele's benchmarks and
// end-to-end tests.
//
// The stream mixes the shapes a service deployment prints: RPC results, HTTP
// requests, log lines, user actions, background work items, and periodic
// gauges, plus (if asked) lines that are not valid events at all: plain
// text, stack-trace lines, truncated JSON, and JSON from other loggers that
// lacks time_ns. Users, RPC methods and items are Zipf-skewed, durations are
// log-normal, and errors are rare, so queries such as
//
//	where rpc_method = "UpdateAccount" and server_error != ""
//	stats count, p99(duration_ms) by rpc_method
//
// see data shaped like production. Valid events start with time_ns and hold
// only strings and non-negative integers; no generated string needs JSON
// escaping.
//
// The same Config.Seed gives byte-identical output on every machine and Go
// version that keeps the PCG generator of math/rand/v2: everything past the
// PCG's Uint64 is integer arithmetic (see dist.go). Config.Now trades that
// for real timestamps.
package eventgen

import (
	"math/rand/v2"
	"time"
)

// Config controls a Generator. The zero value is usable.
type Config struct {
	Seed      uint64           // same seed → byte-identical output
	Start     time.Time        // time_ns of the first event when Now is nil (zero → 2026-01-01T00:00:00Z)
	Interval  time.Duration    // mean spacing of synthetic time_ns (zero → 1ms); jittered, never decreasing
	Now       func() time.Time // if set, time_ns comes from it (real-time use) instead of synthetic time
	Malformed float64          // fraction of lines that are not valid events (plain text, truncated JSON, stack-trace lines, JSON without time_ns, etc.)
}

// DefaultStart is the time of the first event when Config.Start is zero.
var DefaultStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// gaugeEvery is the spacing, in event time, of gauge lines; they rotate over
// the hosts, so each of the five reports once a second.
const gaugeEvery = 200 * time.Millisecond

// Generator produces events. It is not safe for concurrent use; give each
// goroutine its own, with its own seed.
type Generator struct {
	rnd source

	now       func() time.Time
	t         int64  // time_ns of the previous line; never decreases
	begun     bool   // the first line has been written: it is stamped Start exactly
	jitter    uint64 // synthetic steps are uniform in [0, jitter), mean Interval
	malformed uint64 // a line is malformed when a draw is below this

	nextGauge    int64 // time_ns at which the next gauge is due
	lastWasGauge bool
	gaugeHost    int
	gauges       [len(hosts)]gaugeState
	nextJob      uint64 // work item ids count up, as a queue's would
}

// New returns a Generator for cfg.
func New(cfg Config) *Generator {
	g := &Generator{now: cfg.Now}
	// The second PCG word is a fixed stream selector so that seed 0 is as
	// good a seed as any other.
	g.rnd.pcg = *rand.NewPCG(cfg.Seed, 0x5354454c45 /* "STELE" */)

	start := cfg.Start
	if start.IsZero() {
		start = DefaultStart
	}
	interval := cfg.Interval
	if interval <= 0 {
		interval = time.Millisecond
	}
	g.jitter = 2*uint64(interval) + 1
	g.t = max(start.UnixNano(), 0)
	if g.now != nil {
		g.t = 0
	}

	switch f := cfg.Malformed; {
	case f >= 1:
		g.malformed = ^uint64(0)
	case f > 0: // also false for NaN
		g.malformed = uint64(f * (1 << 64))
	}

	g.nextJob = 1 + g.rnd.intn(1e7)
	for i := range g.gauges {
		g.gauges[i] = newGaugeState(&g.rnd, i)
	}
	return g
}

// Append appends exactly one line, ending in '\n', to dst and returns the
// extended slice. It does not allocate when dst has room.
func (g *Generator) Append(dst []byte) []byte {
	g.advance()
	if g.malformed != 0 && g.rnd.pcg.Uint64() < g.malformed {
		g.lastWasGauge = false
		return g.appendMalformed(dst)
	}
	if g.gaugeDue() {
		return g.appendGauge(dst)
	}
	return g.appendEvent(dst)
}

// advance moves the clock for the next line.
func (g *Generator) advance() {
	if g.now == nil {
		if g.begun {
			g.t += int64(g.rnd.intn(g.jitter))
		}
		g.begun = true
		return
	}
	// A wall clock can step back; time_ns must not.
	g.t = max(g.t, g.now().UnixNano())
}

// gaugeDue reports whether this line should be a gauge. Gauges keep their
// cadence in event time but take at most every other line, so a slow stream
// (one line a second, say) still carries events, and after a gap in time
// the missed ticks are skipped rather than replayed.
func (g *Generator) gaugeDue() bool {
	if g.nextGauge == 0 { // first line: the first gauge comes a little later
		g.nextGauge = g.t + int64(gaugeEvery/2)
	}
	if g.t < g.nextGauge || g.lastWasGauge {
		g.lastWasGauge = false
		return false
	}
	if g.t-g.nextGauge > int64(time.Second) {
		g.nextGauge = g.t
	}
	g.nextGauge += int64(gaugeEvery)
	g.lastWasGauge = true
	return true
}
