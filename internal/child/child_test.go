package child

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// recorder collects a run's own events and output.
type recorder struct {
	mu     sync.Mutex
	events []map[string]any
	out    strings.Builder
	evc    chan map[string]any
}

func newRecorder() *recorder { return &recorder{evc: make(chan map[string]any, 1000)} }

func (r *recorder) config(argv ...string) Config {
	return Config{
		Argv:        argv,
		Restart:     Never,
		StopTimeout: 5 * time.Second,
		BackoffMin:  time.Millisecond,
		BackoffMax:  8 * time.Millisecond,
		ResetAfter:  time.Hour,
		Output: func(stdout, stderr *os.File, stop <-chan struct{}) {
			b, _ := io.ReadAll(stdout)
			io.Copy(io.Discard, stderr)
			r.mu.Lock()
			r.out.Write(b)
			r.mu.Unlock()
		},
		Event: func(line []byte) {
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				panic("child: internal error: own event is not JSON: " + string(line))
			}
			r.mu.Lock()
			r.events = append(r.events, m)
			r.mu.Unlock()
			r.evc <- m
		},
	}
}

func (r *recorder) named(name string) []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]any
	for _, e := range r.events {
		if e["_event"] == name {
			out = append(out, e)
		}
	}
	return out
}

func TestExitStatusAndPolicies(t *testing.T) {
	tests := []struct {
		name     string
		policy   Policy
		script   string
		runs     int // runs before Run returns (0: cancel after 4)
		status   int
		cancelAt int
	}{
		{"never, clean exit", Never, "echo hi; exit 0", 1, 0, 0},
		{"never, failure", Never, "exit 3", 1, 3, 0},
		{"on-failure stops after a clean exit", OnFailure, `[ -f "$M" ] && exit 0; touch "$M"; exit 5`, 2, 0, 0},
		{"on-failure restarts failures", OnFailure, "exit 4", 0, 4, 4},
		{"always restarts clean exits", Always, "exit 0", 0, 0, 4},
		{"killed by a signal", Never, "kill -USR1 $$", 1, 128 + int(syscall.SIGUSR1), 0},
		{"program missing", Never, "", 1, 127, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder()
			cfg := r.config("/bin/sh", "-c", tt.script)
			if tt.script == "" {
				cfg.Argv = []string{"/nonexistent/program"}
			}
			cfg.Env = append(os.Environ(), "M="+t.TempDir()+"/marker")
			cfg.Restart = tt.policy
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancelAt > 0 {
				go func() {
					for n := 0; n < tt.cancelAt; {
						if e := <-r.evc; e["_event"] == "child_exited" {
							n++
						}
					}
					cancel()
				}()
			}
			exit := Run(ctx, cfg, nil)
			if exit.Status() != tt.status {
				t.Errorf("status %d, want %d (exit %+v)", exit.Status(), tt.status, exit)
			}
			runs := len(r.named("child_exited")) + len(r.named("child_start_failed"))
			if tt.runs > 0 && runs != tt.runs {
				t.Errorf("%d runs, want %d", runs, tt.runs)
			}
			if tt.cancelAt > 0 && runs < tt.cancelAt {
				t.Errorf("%d runs, want at least %d", runs, tt.cancelAt)
			}
		})
	}
}

func TestBackoffDoublesToItsCap(t *testing.T) {
	r := newRecorder()
	cfg := r.config("/bin/sh", "-c", "exit 1")
	cfg.Restart = Always
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for n := 0; n < 7; {
			if e := <-r.evc; e["_event"] == "restart_backoff" {
				n++
			}
		}
		cancel()
	}()
	Run(ctx, cfg, nil)
	var delays []int
	for _, e := range r.named("restart_backoff")[:7] {
		delays = append(delays, int(e["delay_ms"].(float64)))
	}
	// BackoffMin 1ms doubling, capped at 8ms.
	want := []int{1, 2, 4, 8, 8, 8, 8}
	for i := range want {
		if delays[i] != want[i] {
			t.Fatalf("delays %v, want %v", delays, want)
		}
	}
}

func TestBackoffResetsAfterALongRun(t *testing.T) {
	r := newRecorder()
	cfg := r.config("/bin/sh", "-c", "exit 1")
	cfg.Restart = Always
	cfg.ResetAfter = 0 // every run counts as long
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for n := 0; n < 4; {
			if e := <-r.evc; e["_event"] == "restart_backoff" {
				n++
			}
		}
		cancel()
	}()
	Run(ctx, cfg, nil)
	for _, e := range r.named("restart_backoff") {
		if e["delay_ms"].(float64) != 1 {
			t.Fatalf("delay %v after a long run, want the minimum", e["delay_ms"])
		}
	}
}

func TestSignalsAreForwarded(t *testing.T) {
	r := newRecorder()
	script := `trap 'echo got-hup' HUP; trap 'echo got-usr1' USR1; trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.01; done`
	cfg := r.config("/bin/sh", "-c", script)
	sigs := make(chan os.Signal, 4)
	done := make(chan Exit)
	cfg.Output = func(stdout, stderr *os.File, stop <-chan struct{}) {
		buf := make([]byte, 4096)
		for {
			n, err := stdout.Read(buf)
			r.mu.Lock()
			r.out.Write(buf[:n])
			out := r.out.String()
			r.mu.Unlock()
			switch {
			case strings.Count(out, "ready") == 1 && !strings.Contains(out, "got-hup") && n > 0 && strings.HasSuffix(out, "ready\n"):
				sigs <- syscall.SIGHUP
			case strings.HasSuffix(out, "got-hup\n"):
				sigs <- syscall.SIGUSR1
			case strings.HasSuffix(out, "got-usr1\n"):
				sigs <- syscall.SIGTERM
			}
			if err != nil {
				return
			}
		}
	}
	go func() { done <- Run(context.Background(), cfg, sigs) }()
	exit := <-done
	out := r.out.String()
	for _, want := range []string{"got-hup", "got-usr1", "got-term"} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q lacks %s", out, want)
		}
	}
	if exit.Status() != 7 {
		t.Errorf("status %d, want 7", exit.Status())
	}
}

func TestStopTimeoutKills(t *testing.T) {
	r := newRecorder()
	cfg := r.config("/bin/sh", "-c", `trap '' TERM; echo ready; while :; do sleep 0.01; done`)
	cfg.StopTimeout = 200 * time.Millisecond
	cfg.Restart = Always
	ctx, cancel := context.WithCancel(context.Background())
	// Stop only once the trap is set: the program says so.
	cfg.Output = func(stdout, stderr *os.File, stop <-chan struct{}) {
		buf := make([]byte, 100)
		for {
			n, err := stdout.Read(buf)
			if strings.Contains(string(buf[:n]), "ready") {
				cancel()
			}
			if err != nil {
				return
			}
		}
	}
	exit := Run(ctx, cfg, nil)
	if exit.Signal != syscall.SIGKILL {
		t.Fatalf("exit %+v, want killed by SIGKILL", exit)
	}
	if len(r.named("child_killed")) != 1 {
		t.Fatal("no child_killed event")
	}
	if len(r.named("child_started")) != 1 {
		t.Fatal("restarted after being stopped")
	}
}

// processGone reports whether pid has exited (gone, or a zombie nobody has
// reaped yet).
func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && i+2 < len(b) && b[i+2] == 'Z'
}

func TestNothingOfARunOutlivesIt(t *testing.T) {
	r := newRecorder()
	// The program leaves a helper behind in its process group, with the
	// pipes closed so output ends, and exits on SIGTERM.
	cfg := r.config("/bin/sh", "-c", `trap 'exit 0' TERM; sleep 300 >/dev/null 2>&1 & echo "helper=$!"; while :; do sleep 0.01; done`)
	helper := make(chan int, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg.Output = func(stdout, stderr *os.File, stop <-chan struct{}) {
		buf := make([]byte, 100)
		for {
			n, err := stdout.Read(buf)
			if s, ok := strings.CutPrefix(strings.TrimSpace(string(buf[:n])), "helper="); ok {
				pid, _ := strconv.Atoi(s)
				helper <- pid
				cancel()
			}
			if err != nil {
				return
			}
		}
	}
	exit := Run(ctx, cfg, nil)
	if exit.Status() != 0 {
		t.Fatalf("status %d, want 0", exit.Status())
	}
	pid := <-helper
	deadline := time.Now().Add(10 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("helper %d outlived the run", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
