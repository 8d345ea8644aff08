// Package child runs the supervised program: it starts it with its stdout
// and stderr on pipes, forwards signals, restarts it by policy with capped
// exponential backoff, and stops it within a timeout.
//
// The program runs in its own process group with stdin on /dev/null, so a
// terminal's Ctrl-C reaches it once (forwarded by the supervisor), and with
// the parent-death signal set to SIGKILL, so it does not outlive a
// supervisor that was killed with SIGKILL.
package child

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"

	"stele/internal/event"
)

// Policy says when the program is started again after it exits.
type Policy int

const (
	Always    Policy = iota // after every exit
	OnFailure               // after an exit with a non-zero status or a signal
	Never                   // never: the supervisor exits with the program
)

// ParsePolicy parses the -restart flag.
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "always":
		return Always, nil
	case "on-failure":
		return OnFailure, nil
	case "never":
		return Never, nil
	}
	return 0, fmt.Errorf("child: unknown restart policy %q (want always, on-failure or never)", s)
}

// Exit describes how one run of the program ended.
type Exit struct {
	Pid     int
	Code    int            // exit code, or -1 when killed by a signal or never started
	Signal  syscall.Signal // the signal that killed it, or 0
	Runtime time.Duration
	Err     error // why it could not be started, if it was not
}

// Failed reports whether the run counts as a failure for OnFailure.
func (e Exit) Failed() bool { return e.Code != 0 }

// Status is the exit status the supervisor should end with: the program's
// code, 128+signal when a signal killed it (as shells report it), or 127
// when it could not be started.
func (e Exit) Status() int {
	switch {
	case e.Err != nil:
		return 127
	case e.Signal != 0:
		return 128 + int(e.Signal)
	}
	return e.Code
}

// Config configures Run.
type Config struct {
	Argv        []string
	Env         []string // nil: the supervisor's environment
	Restart     Policy
	StopTimeout time.Duration
	BackoffMin  time.Duration // first restart delay
	BackoffMax  time.Duration // cap of the doubling delay
	// ResetAfter is how long a run must last for the next restart to wait
	// only BackoffMin again.
	ResetAfter time.Duration
	// Output is handed each run's stdout and stderr read ends; it must read
	// both to EOF and return only when done, or once stop is closed.
	Output func(stdout, stderr *os.File, stop <-chan struct{})
	// Event records one of the supervisor's own events (a complete line).
	Event func(line []byte)
	// OnStart is called with the pid of each run, e.g. for resource
	// sampling, and OnExit once that run is over.
	OnStart func(pid int)
	OnExit  func()
	Now     func() time.Time
}

// Run starts the program and keeps it running per the policy until it
// exits for good or ctx is cancelled, forwarding the signals received on
// sigs. Cancelling ctx stops the program: SIGTERM, then SIGKILL of its
// process group after StopTimeout. It returns the last run's Exit.
func Run(ctx context.Context, cfg Config, sigs <-chan os.Signal) Exit {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	delay := cfg.BackoffMin
	var last Exit
	for runNo := 1; ; runNo++ {
		exit, stopped := runOnce(ctx, cfg, sigs, runNo)
		last = exit
		if stopped || ctx.Err() != nil {
			return last
		}
		if cfg.Restart == Never || (cfg.Restart == OnFailure && !exit.Failed()) {
			return last
		}
		if exit.Runtime >= cfg.ResetAfter {
			delay = cfg.BackoffMin
		}
		cfg.emit("restart_backoff", func(b *event.Builder) {
			b.Int("delay_ms", delay.Milliseconds())
			b.Int("next_run", int64(runNo+1))
		})
		if !sleep(ctx, delay, sigs) {
			return last
		}
		delay = min(delay*2, cfg.BackoffMax)
	}
}

// sleep waits d, returning false if ctx ends or a stopping signal comes.
func sleep(ctx context.Context, d time.Duration, sigs <-chan os.Signal) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case s := <-sigs:
			if isStop(s) {
				return false
			}
		case <-t.C:
			return true
		}
	}
}

func isStop(s os.Signal) bool { return s == syscall.SIGTERM || s == syscall.SIGINT }

func (cfg *Config) emit(name string, fill func(b *event.Builder)) {
	if cfg.Event == nil {
		return
	}
	b := event.Begin(nil, cfg.Now().UnixNano(), name)
	fill(&b)
	cfg.Event(b.End())
}

type started struct {
	pid int
	err error
}

// runOnce runs the program once. stopped reports that it ended because it
// was asked to stop.
func runOnce(ctx context.Context, cfg Config, sigs <-chan os.Signal, runNo int) (exit Exit, stopped bool) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return startFailed(cfg, runNo, err), false
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return startFailed(cfg, runNo, err), false
	}
	setPipeSize(outR)
	setPipeSize(errR)
	cmd := exec.Command(cfg.Argv[0], cfg.Argv[1:]...)
	cmd.Env = cfg.Env
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	startedc := make(chan started, 1)
	waited := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the thread that forked exits, so the same
		// locked thread starts and waits for the program; it is discarded
		// afterwards.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			startedc <- started{err: err}
			return
		}
		startedc <- started{pid: cmd.Process.Pid}
		waited <- cmd.Wait()
	}()
	st := <-startedc
	outW.Close()
	errW.Close()
	if st.err != nil {
		outR.Close()
		errR.Close()
		return startFailed(cfg, runNo, st.err), false
	}
	begin := cfg.Now()
	cfg.emit("child_started", func(b *event.Builder) {
		b.Int("pid", int64(st.pid))
		b.Int("run", int64(runNo))
		b.Str("program", cfg.Argv[0])
	})
	if cfg.OnStart != nil {
		cfg.OnStart(st.pid)
	}
	stopOutput := make(chan struct{})
	outputDone := make(chan struct{})
	go func() {
		defer close(outputDone)
		cfg.Output(outR, errR, stopOutput)
	}()

	var killTimer <-chan time.Time
	stopping := false
	// Signals go through the Process, which knows once the program has
	// been reaped and then refuses, so a reused pid is never signalled.
	stop := func(sig syscall.Signal) {
		_ = cmd.Process.Signal(sig)
		if !stopping {
			stopping = true
			killTimer = time.After(cfg.StopTimeout)
		}
	}
	ctxDone := ctx.Done()
	var waitErr error
wait:
	for {
		select {
		case waitErr = <-waited:
			break wait
		case <-ctxDone:
			ctxDone = nil
			stop(syscall.SIGTERM)
		case s := <-sigs:
			sig, ok := s.(syscall.Signal)
			if !ok {
				continue
			}
			if isStop(sig) {
				stop(sig)
			} else {
				_ = cmd.Process.Signal(sig)
			}
		case <-killTimer:
			killTimer = nil
			// The whole group, so helpers the program started go too.
			_ = syscall.Kill(-st.pid, syscall.SIGKILL)
			cfg.emit("child_killed", func(b *event.Builder) {
				b.Int("pid", int64(st.pid))
				b.Str("reason", "stop timeout")
				b.Int("stop_timeout_ms", cfg.StopTimeout.Milliseconds())
			})
		}
	}
	if cfg.OnExit != nil {
		cfg.OnExit()
	}
	exit = Exit{Pid: st.pid, Code: -1, Runtime: cfg.Now().Sub(begin)}
	var ee *exec.ExitError
	if errors.As(waitErr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			exit.Signal = ws.Signal()
		} else {
			exit.Code = ee.ExitCode()
		}
	} else if waitErr == nil {
		exit.Code = 0
	}
	// Output ends at EOF, when every holder of the pipes' write ends (the
	// program and anything it started) is gone. Processes the program left
	// in its group get outputGrace to finish writing, then the group is
	// killed: nothing of a run outlives it. The group id stays reserved
	// while any member lives, so the kill cannot reach another group.
	select {
	case <-outputDone:
	case <-time.After(outputGrace):
	}
	_ = syscall.Kill(-st.pid, syscall.SIGKILL)
	select {
	case <-outputDone:
	case <-time.After(outputGrace):
		// A process outside the group (one that called setsid) still
		// holds the pipes: stop reading.
		close(stopOutput)
		outR.Close()
		errR.Close()
		<-outputDone
	}
	outR.Close()
	errR.Close()
	cfg.emit("child_exited", func(b *event.Builder) {
		b.Int("pid", int64(exit.Pid))
		b.Int("run", int64(runNo))
		b.Int("code", int64(exit.Code))
		if exit.Signal != 0 {
			b.Str("signal", signalName(exit.Signal))
		}
		b.Int("run_ms", exit.Runtime.Milliseconds())
	})
	return exit, stopping
}

// setPipeSize enlarges a pipe; failure (e.g. above
// /proc/sys/fs/pipe-max-size for an unprivileged user) keeps the default.
func setPipeSize(f *os.File) {
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			_, _, _ = syscall.Syscall(syscall.SYS_FCNTL, fd, fSetPipeSz, pipeBytes)
		})
	}
}

func startFailed(cfg Config, runNo int, err error) Exit {
	cfg.emit("child_start_failed", func(b *event.Builder) {
		b.Int("run", int64(runNo))
		b.Str("program", cfg.Argv[0])
		b.Str("error", err.Error())
	})
	return Exit{Code: -1, Err: err}
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	case syscall.SIGABRT:
		return "SIGABRT"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	case syscall.SIGPIPE:
		return "SIGPIPE"
	case syscall.SIGUSR1:
		return "SIGUSR1"
	case syscall.SIGUSR2:
		return "SIGUSR2"
	}
	return fmt.Sprintf("signal %d", int(s))
}
