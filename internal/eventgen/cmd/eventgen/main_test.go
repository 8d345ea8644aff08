package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"stele/internal/eventgen"
)

// bin is the program under test, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "eventgen-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "eventgen")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestRun(t *testing.T) {
	const some = -1
	tests := []struct {
		args           []string
		stdout, stderr int // lines wanted, or some: at least one
		total          int // lines on both, or some
	}{
		{[]string{"-n", "1000"}, 1000, 0, 1000},
		{[]string{"-n", "1000", "-seed", "5", "-malformed", "0.1"}, 1000, 0, 1000},
		{[]string{"-n", "1000", "-stderr", "1"}, 0, 1000, 1000},
		{[]string{"-n", "1000", "-stderr", "0.5"}, some, some, 1000},
		{[]string{"-n", "50", "-rate", "1000"}, 50, 0, 50},
		{[]string{"-rate", "100", "-duration", "200ms"}, some, 0, some},
		{[]string{"-n", "0", "-rate", "100", "-duration", "100ms", "-stderr", "0.5"}, some, some, some},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(bin, tt.args...)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%v\n%s", err, stderr.Bytes())
			}
			out := bytes.Count(stdout.Bytes(), []byte("\n"))
			errOut := bytes.Count(stderr.Bytes(), []byte("\n"))
			for _, c := range []struct {
				what      string
				got, want int
			}{
				{"stdout", out, tt.stdout},
				{"stderr", errOut, tt.stderr},
				{"both", out + errOut, tt.total},
			} {
				if c.want == some && c.got == 0 || c.want != some && c.got != c.want {
					t.Errorf("%d lines on %s, want %d (-1: some)", c.got, c.what, c.want)
				}
			}
		})
	}
}

// TestSameBytesAsLibrary checks that the unpaced program is the library's
// stream, so a benchmark may use either.
func TestSameBytesAsLibrary(t *testing.T) {
	out, err := exec.Command(bin, "-n", "2000", "-seed", "3", "-malformed", "0.02").Output()
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

// TestSignals starts an unlimited paced run, waits for lines to arrive
// (which shows they are flushed while it runs), then stops it: it must exit
// 0 with whole lines only.
func TestSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin, "-rate", "200")
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
			if _, err := rest.ReadFrom(r); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Errorf("exit: %v, want status 0", err)
			}
			if rest.Len() > 0 && rest.Bytes()[rest.Len()-1] != '\n' {
				t.Errorf("output ends mid-line: %q", rest.Bytes())
			}
		})
	}
}
