// Package leakcheck lets a test fail when it leaves goroutines or file
// descriptors behind. Check snapshots both at the start of a test; at its
// end it waits (bounded, polling, as goroutines finish asynchronously after
// a Close) for them to return to the snapshot, then reports the survivors'
// stacks.
package leakcheck

import (
	"bytes"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// settle bounds how long Check waits for goroutines and descriptors to go:
// generous, because it is only spent when something leaks.
const settle = 10 * time.Second

// Check registers a cleanup that fails t if, at the end of the test, there
// are goroutines that were not running at the call, or more open file
// descriptors. Call it first in a test, before anything registers its own
// cleanups (cleanups run last-registered first, so those run before it).
func Check(t testing.TB) {
	t.Helper()
	before := goroutines()
	fds := openFDs()
	t.Cleanup(func() {
		deadline := time.Now().Add(settle)
		for {
			extra := newGoroutines(before)
			nfd := openFDs()
			if len(extra) == 0 && nfd <= fds {
				return
			}
			if time.Now().After(deadline) {
				if len(extra) > 0 {
					t.Errorf("leakcheck: %d goroutines left behind:\n\n%s", len(extra), strings.Join(extra, "\n\n"))
				}
				if nfd > fds {
					t.Errorf("leakcheck: %d file descriptors open, %d at the start", nfd, fds)
				}
				return
			}
			runtime.Gosched()
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// goroutines returns the stacks of all goroutines, keyed by "goroutine N".
func goroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		s := string(g)
		head, _, _ := strings.Cut(s, " [")
		out[head] = s
	}
	return out
}

// ignored marks goroutines that the runtime and the testing package own:
// test functions themselves run under testing.tRunner.
var ignored = []string{
	"testing.tRunner(",
	"testing.(*M).",
	"testing.runFuzzing",
	"os/signal.signal_recv",
	"os/signal.loop",
	"runtime.ensureSigM",
	"leakcheck.goroutines",
}

func newGoroutines(before map[string]string) []string {
	var extra []string
	for head, stack := range goroutines() {
		if _, ok := before[head]; ok {
			continue
		}
		if slices.ContainsFunc(ignored, func(s string) bool { return strings.Contains(stack, s) }) {
			continue
		}
		extra = append(extra, stack)
	}
	return extra
}

func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(entries)
}
