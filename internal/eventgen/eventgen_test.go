package eventgen

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// lines generates n lines from cfg.
func lines(cfg Config, n int) [][]byte {
	g := New(cfg)
	out := make([][]byte, n)
	for i := range out {
		out[i] = g.Append(nil)
	}
	return out
}

// event is a parsed valid event.
type event map[string]any

// parseEvent returns the event on line, or nil if the line is not a valid
// event: a JSON object with a non-negative integer time_ns. It fails the
// test if a valid event breaks the promises made about them.
func parseEvent(t *testing.T, line []byte) event {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var ev event
	if dec.Decode(&ev) != nil || ev == nil {
		return nil
	}
	ts, ok := ev["time_ns"].(json.Number)
	if !ok || !isUint(ts) {
		return nil
	}
	if !bytes.HasPrefix(line, []byte(`{"time_ns":`)) {
		t.Errorf("time_ns is not the first key: %s", line)
	}
	if bytes.IndexByte(line, '\\') >= 0 {
		t.Errorf("event needs escapes: %s", line)
	}
	for k, v := range ev {
		switch v := v.(type) {
		case string:
		case json.Number:
			if !isUint(v) {
				t.Errorf("%s = %s is not a non-negative integer: %s", k, v, line)
			}
		default:
			t.Errorf("%s has type %T: %s", k, v, line)
		}
	}
	if len(ev) < 2 {
		t.Errorf("event has only time_ns: %s", line)
	}
	return ev
}

// isEvent and field read generated lines without a JSON parser, which the
// large-sample tests could not afford under the race detector. They rely on
// the generator's flat layout; TestValidEvents checks them against
// encoding/json on every line it sees.
func isEvent(line []byte) bool {
	return bytes.HasPrefix(line, []byte(`{"time_ns":`)) && bytes.HasSuffix(line, []byte("}\n"))
}

// field returns the value of key on a valid line, without quotes.
func field(line []byte, key string) (string, bool) {
	_, v, ok := bytes.Cut(line, []byte(`"`+key+`":`))
	if !ok {
		return "", false
	}
	if v[0] == '"' {
		v = v[1 : bytes.IndexByte(v[1:], '"')+1]
	} else {
		v = v[:bytes.IndexAny(v, ",}")]
	}
	return string(v), true
}

func isUint(n json.Number) bool {
	return n != "" && strings.Trim(string(n), "0123456789") == ""
}

func (ev event) uint(t *testing.T, key string) uint64 {
	t.Helper()
	n, ok := ev[key].(json.Number)
	if !ok {
		t.Fatalf("event has no integer %s: %v", key, ev)
	}
	v, err := n.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return uint64(v)
}

func TestDeterminism(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"zero config", Config{}},
		{"malformed", Config{Seed: 7, Malformed: 0.2}},
		{"slow clock", Config{Seed: 9, Start: time.Unix(1e9, 0), Interval: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := bytes.Join(lines(tt.cfg, 5000), nil)
			b := bytes.Join(lines(tt.cfg, 5000), nil)
			if !bytes.Equal(a, b) {
				t.Fatal("same seed gave different output")
			}
			other := tt.cfg
			other.Seed++
			if bytes.Equal(a, bytes.Join(lines(other, 5000), nil)) {
				t.Fatal("different seeds gave the same output")
			}
		})
	}
}

// TestGolden pins the output for one seed, so a change to what benchmarks
// and recorded runs see is a visible diff, not a surprise. Run with
// -update after an intended change.
func TestGolden(t *testing.T) {
	got := bytes.Join(lines(Config{Seed: 1, Malformed: 0.05}, 60), nil)
	path := filepath.Join("testdata", "seed1.golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output for seed 1 changed; run go test -update if intended\ngot:\n%s", got)
	}
}

// fakeClock returns the times in order, repeating the last.
func fakeClock(times ...time.Time) func() time.Time {
	return func() time.Time {
		now := times[0]
		if len(times) > 1 {
			times = times[1:]
		}
		return now
	}
}

func TestValidEvents(t *testing.T) {
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var clock []time.Time
	for i := range 10000 {
		// Mostly forward, with a step back every so often, as a wall
		// clock corrected by NTP does.
		step := time.Duration(i) * time.Millisecond
		if i%97 == 0 {
			step -= 50 * time.Millisecond
		}
		clock = append(clock, base.Add(step))
	}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"default", Config{Seed: 1}},
		{"malformed", Config{Seed: 2, Malformed: 0.3}},
		{"sparse", Config{Seed: 3, Interval: 10 * time.Second}},
		{"dense", Config{Seed: 4, Interval: time.Nanosecond}},
		{"epoch", Config{Seed: 5, Start: time.Unix(0, 0)}},
		{"before epoch", Config{Seed: 6, Start: time.Unix(-100, 0)}},
		{"wall clock", Config{Seed: 7, Now: fakeClock(clock...)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var prev uint64
			valid := 0
			for i, line := range lines(tt.cfg, 10000) {
				if len(line) == 0 || line[len(line)-1] != '\n' || bytes.Count(line, []byte("\n")) != 1 {
					t.Fatalf("line %d is not one newline-terminated line: %q", i, line)
				}
				ev := parseEvent(t, line)
				if (ev != nil) != isEvent(line) {
					t.Fatalf("line %d: isEvent disagrees with encoding/json: %s", i, line)
				}
				if ev == nil {
					continue
				}
				for k, v := range ev {
					if got, _ := field(line, k); got != fmt.Sprint(v) {
						t.Fatalf("line %d: field %s = %q, want %v", i, k, got, v)
					}
				}
				valid++
				ts := ev.uint(t, "time_ns")
				if ts < prev {
					t.Fatalf("line %d: time_ns %d before %d", i, ts, prev)
				}
				prev = ts
			}
			if tt.cfg.Malformed == 0 && valid != 10000 {
				t.Errorf("%d of 10000 lines are valid events, want all", valid)
			}
		})
	}
}

func TestStartAndInterval(t *testing.T) {
	tests := []struct {
		cfg       Config
		wantFirst time.Time
		wantMean  time.Duration
	}{
		{Config{}, DefaultStart, time.Millisecond},
		{Config{Start: time.Unix(1e9, 0), Interval: time.Second}, time.Unix(1e9, 0), time.Second},
		{Config{Seed: 3, Interval: 10 * time.Microsecond}, DefaultStart, 10 * time.Microsecond},
	}
	for _, tt := range tests {
		const n = 20000
		var first, last uint64
		for i, line := range lines(tt.cfg, n) {
			ts, _ := field(line, "time_ns")
			v, err := strconv.ParseUint(ts, 10, 64)
			if err != nil {
				t.Fatalf("line %d: %v", i, err)
			}
			if i == 0 {
				first = v
			}
			last = v
		}
		start := uint64(tt.wantFirst.UnixNano())
		if first != start {
			t.Errorf("%+v: first time_ns %d, want %d", tt.cfg, first, start)
		}
		mean := float64(last-first) / (n - 1)
		if math.Abs(mean/float64(tt.wantMean)-1) > 0.03 {
			t.Errorf("%+v: mean spacing %.0fns, want %v", tt.cfg, mean, tt.wantMean)
		}
	}
}

func TestNowIsUsed(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	clock := []time.Time{t0, t0.Add(time.Second), t0.Add(-time.Hour), t0.Add(2 * time.Second)}
	want := []int64{t0.UnixNano(), t0.Add(time.Second).UnixNano(), t0.Add(time.Second).UnixNano(), t0.Add(2 * time.Second).UnixNano()}
	for i, line := range lines(Config{Now: fakeClock(clock...)}, len(clock)) {
		ev := parseEvent(t, line)
		if got := int64(ev.uint(t, "time_ns")); got != want[i] {
			t.Errorf("line %d: time_ns %d, want %d", i, got, want[i])
		}
	}
}

func TestMix(t *testing.T) {
	const n = 100_000
	counts := map[string]int{}
	for _, line := range lines(Config{Seed: 11}, n) {
		kind, _ := field(line, "kind")
		counts[kind]++
	}
	// Gauges follow event time: one per gaugeEvery at 1ms spacing.
	gauges := float64(n) * float64(time.Millisecond) / float64(gaugeEvery)
	others := float64(n) - gauges
	tests := []struct {
		kind string
		want float64
	}{
		{"rpc", others * 0.32},
		{"http", others * 0.22},
		{"log", others * 0.26},
		{"action", others * 0.12},
		{"work", others * 0.08},
		{"gauge", gauges},
	}
	total := 0
	for _, tt := range tests {
		got := counts[tt.kind]
		total += got
		if math.Abs(float64(got)/tt.want-1) > 0.1 {
			t.Errorf("%d %s events, want about %.0f", got, tt.kind, tt.want)
		}
	}
	if total != n {
		t.Errorf("%d events of known kinds, want %d: %v", total, n, counts)
	}
}

func TestRPCShape(t *testing.T) {
	const n = 150_000
	var rpcs, serverErrors, quota int
	methods := map[string]int{}
	durations := map[string][]uint64{}
	for _, line := range lines(Config{Seed: 12}, n) {
		if kind, _ := field(line, "kind"); kind != "rpc" {
			continue
		}
		rpcs++
		m, _ := field(line, "rpc_method")
		methods[m]++
		d, _ := field(line, "duration_ms")
		ms, err := strconv.ParseUint(d, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		durations[m] = append(durations[m], ms)
		msg, _ := field(line, "server_error")
		if code, _ := field(line, "rpc_code"); msg != "" && code == "0" {
			t.Errorf("server error with rpc_code 0: %s", line)
		}
		if msg != "" {
			serverErrors++
		}
		if strings.HasPrefix(msg, "Quota exceeded for project ") {
			quota++
		}
	}
	if len(methods) != len(rpcMethods) {
		t.Errorf("%d methods seen, want %d", len(methods), len(rpcMethods))
	}
	if rate := float64(serverErrors) / float64(rpcs); rate < 0.005 || rate > 0.02 {
		t.Errorf("server error rate %.4f, want 0.5%%..2%%", rate)
	}
	if quota == 0 {
		t.Error("no quota errors")
	}
	top, last := methods[rpcMethods[0].method], methods[rpcMethods[len(rpcMethods)-1].method]
	if top < 10*last {
		t.Errorf("most popular method %d calls, least %d: want Zipf skew", top, last)
	}
	// ChargeCard is slow by design; VerifyToken fast.
	p50 := func(m string) uint64 {
		d := durations[m]
		slices.Sort(d)
		return d[len(d)/2]
	}
	if p50("ChargeCard") < 100*max(p50("VerifyToken"), 1) {
		t.Errorf("p50 ChargeCard %dms, VerifyToken %dms: want a wide spread", p50("ChargeCard"), p50("VerifyToken"))
	}
}

func TestUserSkew(t *testing.T) {
	const n = 200_000
	counts := map[string]int{}
	samples := 0
	for _, line := range lines(Config{Seed: 13}, n) {
		if uid, ok := field(line, "pii_uid"); ok {
			counts[uid]++
			samples++
		}
	}
	freq := make([]int, 0, numUsers)
	for _, c := range counts {
		freq = append(freq, c)
	}
	for len(freq) < numUsers {
		freq = append(freq, 0) // users never seen
	}
	slices.Sort(freq)
	slices.Reverse(freq)
	median := freq[numUsers/2]
	mean := float64(samples) / numUsers
	if float64(freq[0]) < 100*mean || freq[0] < 100*max(median, 1) {
		t.Errorf("top user %d events, mean %.2f, median %d: want strong skew", freq[0], mean, median)
	}
	top1pc := 0
	for _, c := range freq[:numUsers/100] {
		top1pc += c
	}
	if share := float64(top1pc) / float64(samples); share < 0.3 {
		t.Errorf("top 1%% of users have %.2f of events, want > 0.3", share)
	}
	if len(counts) < numUsers/10 {
		t.Errorf("only %d distinct users, want a long tail", len(counts))
	}
}

func TestMalformedFraction(t *testing.T) {
	const n = 40_000
	for _, frac := range []float64{0, 0.001, 0.05, 0.3, 1} {
		bad := 0
		kinds := map[string]bool{}
		for _, line := range lines(Config{Seed: 14, Malformed: frac}, n) {
			if isEvent(line) {
				continue
			}
			bad++
			switch {
			case bytes.HasPrefix(line, []byte(`{"time":`)):
				kinds["slog"] = true
			case bytes.HasPrefix(line, []byte(`{"level":`)):
				kinds["zap"] = true
			case bytes.HasPrefix(line, []byte(`{"time_ns":`)):
				kinds["truncated"] = true
			case bytes.HasPrefix(line, []byte("\t")), bytes.HasPrefix(line, []byte("goroutine ")):
				kinds["stack"] = true
			default:
				kinds["plain"] = true
			}
		}
		got := float64(bad) / n
		tol := 4*math.Sqrt(frac*(1-frac)/n) + 1e-9
		if math.Abs(got-frac) > tol {
			t.Errorf("Malformed %v: %.4f of lines malformed, want within %.4f", frac, got, tol)
		}
		if frac >= 0.05 && len(kinds) != 5 {
			t.Errorf("Malformed %v: kinds seen %v, want all five", frac, kinds)
		}
	}
}

func TestLineLength(t *testing.T) {
	for _, cfg := range []Config{{Seed: 15}, {Seed: 16, Malformed: 0.05}} {
		const n = 50_000
		total := 0
		for _, line := range lines(cfg, n) {
			total += len(line)
		}
		if avg := float64(total) / n; avg < 120 || avg > 200 {
			t.Errorf("%+v: average line %.1f bytes, want 120..200", cfg, avg)
		}
	}
}

func TestAppendExtends(t *testing.T) {
	g := New(Config{Seed: 17, Malformed: 0.5})
	buf := []byte("keep")
	for range 1000 {
		n := len(buf)
		buf = g.Append(buf)
		if string(buf[:4]) != "keep" || bytes.IndexByte(buf[n:], '\n') != len(buf)-n-1 {
			t.Fatalf("Append did not append exactly one line: %q", buf[n:])
		}
	}
}

func TestAppendDoesNotAllocate(t *testing.T) {
	g := New(Config{Seed: 18, Malformed: 0.2})
	buf := make([]byte, 0, 4096)
	if allocs := testing.AllocsPerRun(10_000, func() { buf = g.Append(buf[:0]) }); allocs != 0 {
		t.Errorf("Append allocates %.2f times per line", allocs)
	}
}

// BenchmarkAppend measures one batch of lines per iteration, so even the
// Makefile's -benchtime 1x gives a usable events/s.
func BenchmarkAppend(b *testing.B) {
	const batch = 4096
	g := New(Config{Seed: 1})
	buf := make([]byte, 0, 1<<20)
	var events, size int
	for b.Loop() {
		buf = buf[:0]
		for range batch {
			buf = g.Append(buf)
		}
		events += batch
		size += len(buf)
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(size)/float64(events), "bytes/event")
	b.SetBytes(int64(size / b.N))
}
