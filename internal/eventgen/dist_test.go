package eventgen

import (
	"math"
	"math/bits"
	"slices"
	"testing"
)

func TestPow2Table(t *testing.T) {
	for i, got := range pow2Q16 {
		if want := math.Round(65536 * math.Exp2(float64(i)/64)); float64(got) != want {
			t.Errorf("pow2Q16[%d] = %d, want %.0f", i, got, want)
		}
	}
}

func TestLognormal(t *testing.T) {
	tests := []struct {
		median, sigmaPct uint64
	}{
		{1000, 100},
		{50_000, 50},
		{300_000, 150},
	}
	for _, tt := range tests {
		var r source
		r.pcg.Seed(1, 2)
		const n = 200_000
		vs := make([]uint64, n)
		for i := range vs {
			vs[i] = r.lognormal(tt.median, tt.sigmaPct)
		}
		slices.Sort(vs)
		p50, p99 := float64(vs[n/2]), float64(vs[n*99/100])
		if math.Abs(p50/float64(tt.median)-1) > 0.03 {
			t.Errorf("%+v: p50 %.0f", tt, p50)
		}
		// p99/p50 of a log-normal is exp(2.326 sigma).
		want := math.Exp(2.326 * float64(tt.sigmaPct) / 100)
		if got := p99 / p50; math.Abs(got/want-1) > 0.1 {
			t.Errorf("%+v: p99/p50 %.2f, want %.2f", tt, got, want)
		}
	}
}

func TestWeighted(t *testing.T) {
	w := newWeighted([]uint32{1, 0, 3, 6})
	var r source
	counts := make([]int, 4)
	const n = 100_000
	for range n {
		counts[w.pick(&r)]++
	}
	for i, want := range []float64{0.1, 0, 0.3, 0.6} {
		if got := float64(counts[i]) / n; math.Abs(got-want) > 0.01 {
			t.Errorf("index %d picked %.3f of the time, want %.1f", i, got, want)
		}
	}
}

// TestGuide checks that the guide table only speeds picks up: every draw
// lands where a search of the whole table puts it.
func TestGuide(t *testing.T) {
	tables := []struct {
		name string
		w    weighted
	}{
		{"users", users},
		{"methods", rpcPopularity},
		{"shapes", shapes},
		{"zeros", newWeighted([]uint32{0, 5, 0, 0, 1, 0})},
		{"one", newWeighted([]uint32{7})},
	}
	var r source
	for _, tt := range tables {
		check := func(x uint64) {
			u, _ := bits.Mul64(x, tt.w.total)
			if got, want := tt.w.index(x), tt.w.search(u, 0, len(tt.w.cum)); got != want {
				t.Fatalf("%s: draw %#x picks %d, want %d", tt.name, x, got, want)
			}
		}
		for _, x := range []uint64{0, 1, 1 << 63, ^uint64(0), ^uint64(0) >> tt.w.guideBits} {
			check(x)
		}
		for range 100_000 {
			check(r.pcg.Uint64())
		}
	}
}

func TestTextTemplates(t *testing.T) {
	var r source
	tests := []struct {
		tmpl text
		want func(string) bool
	}{
		{mkText("plain"), func(s string) bool { return s == "plain" }},
		{mkText("%d%%", 7, 7), func(s string) bool { return s == "7%" }},
		{mkText("0x%x!", 255, 255), func(s string) bool { return s == "0xff!" }},
		{mkText("p %p"), func(s string) bool { return len(s) == len("p 12345") }},
	}
	for _, tt := range tests {
		if got := string(tt.tmpl.append(nil, &r)); !tt.want(got) {
			t.Errorf("template %q gave %q", tt.tmpl.segs, got)
		}
	}
}

// TestStringsNeedNoEscaping guards the promise that events are written
// without escaping: every fixed string that lands inside a JSON string of a
// valid event is plain printable ASCII without quotes or backslashes.
func TestStringsNeedNoEscaping(t *testing.T) {
	var all []string
	for _, m := range rpcMethods {
		all = append(all, m.service, m.method)
	}
	all = append(all, msgUnavailable...)
	all = append(all, msgInternal...)
	for _, rt := range httpRoutes {
		all = append(all, rt.method, rt.prefix, rt.suffix, rt.agent)
	}
	all = append(all, userAgents...)
	for _, lt := range logTemplates {
		all = append(all, lt.level, lt.logger)
		all = append(all, lt.msg.segs...)
	}
	for _, a := range actions {
		all = append(all, a.name, a.extra)
	}
	for _, q := range queues {
		all = append(all, q.name)
	}
	all = append(all, outcomes...)
	all = append(all, hosts[:]...)
	for _, s := range all {
		for _, c := range []byte(s) {
			if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
				t.Errorf("%q needs escaping in JSON", s)
				break
			}
		}
	}
}
