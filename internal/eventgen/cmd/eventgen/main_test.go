package main

import (
	"bufio"
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"stele/internal/eventgen"
)

// build compiles the program once per test binary run.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "eventgen")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestRun(t *testing.T) {
	bin := build(t)
	tests := []struct {
		args           []string
		stdout, stderr int // lines wanted; -1 means some, at least one
	}{
		{[]string{"-n", "1000"}, 1000, 0},
		{[]string{"-n", "1000", "-seed", "5", "-malformed", "0.1"}, 1000, 0},
		{[]string{"-n", "1000", "-stderr", "1"}, 0, 1000},
		{[]string{"-n", "1000", "-stderr", "0.5"}, -1, -1},
		{[]string{"-n", "50", "-rate", "1000"}, 50, 0},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(bin, tt.args...)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%v\n%s", err, stderr.Bytes())
			}
			out, errOut := bytes.Count(stdout.Bytes(), []byte("\n")), bytes.Count(stderr.Bytes(), []byte("\n"))
			if tt.stdout >= 0 && out != tt.stdout || tt.stdout < 0 && out == 0 {
				t.Errorf("%d lines on stdout, want %d", out, tt.stdout)
			}
			if tt.stderr >= 0 && errOut != tt.stderr || tt.stderr < 0 && errOut == 0 {
				t.Errorf("%d lines on stderr, want %d", errOut, tt.stderr)
			}
			if out+errOut != 1000 && tt.stdout != 50 {
				t.Errorf("%d lines in all, want 1000", out+errOut)
			}
		})
	}
}

// TestSameBytesAsLibrary checks that the unpaced program is the library's
// stream, so a benchmark may use either.
func TestSameBytesAsLibrary(t *testing.T) {
	out, err := exec.Command(build(t), "-n", "2000", "-seed", "3", "-malformed", "0.02").Output()
	if err != nil {
		t.Fatal(err)
	}
	g := eventgen.New(eventgen.Config{Seed: 3, Malformed: 0.02})
	var want []byte
	for range 2000 {
		want = g.Append(want)
	}
	if !bytes.Equal(out, want) {
		t.Error("program output differs from eventgen.Generator")
	}
}

func TestBadFlags(t *testing.T) {
	bin := build(t)
	for _, args := range [][]string{
		{"-rate", "-1"},
		{"-malformed", "2"},
		{"-stderr", "NaN"},
		{"-duration", "-1s"},
		{"-bogus"},
		{"extra"},
	} {
		err := exec.Command(bin, args...).Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
			t.Errorf("%v: %v, want exit status 2", args, err)
		}
	}
}

// TestSIGTERM starts an unlimited paced run, waits for lines to arrive (which
// shows they are flushed while running), then stops it: it must exit 0 with
// whole lines only.
func TestSIGTERM(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd := exec.Command(build(t), "-rate", "200")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(stdout)
		for range 5 {
			if _, err := r.ReadBytes('\n'); err != nil {
				t.Fatalf("reading a line: %v", err)
			}
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		var rest bytes.Buffer
		rest.ReadFrom(r)
		if err := cmd.Wait(); err != nil {
			t.Errorf("%v: exit %v, want status 0", sig, err)
		}
		if rest.Len() > 0 && rest.Bytes()[rest.Len()-1] != '\n' {
			t.Errorf("%v: output ends mid-line: %q", sig, rest.Bytes())
		}
	}
}
