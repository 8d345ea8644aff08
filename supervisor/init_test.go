package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunFileWorksAsWritten runs testdata/init/runit-run under a real runit
// and a real s6, with only its paths changed, and stops it the way each
// does: the log must end complete, as after any clean stop.
func TestRunFileWorksAsWritten(t *testing.T) {
	tests := []struct {
		name  string
		start string   // the service supervisor, given the service dir
		stop  []string // stops the service and waits for it to be down
		exit  []string // makes the service supervisor exit
	}{
		{"runit", "runsv", []string{"sv", "-w", "20", "stop"}, []string{"sv", "exit"}},
		{"s6", "s6-supervise", []string{"s6-svc", "-wd", "-T", "20000", "-d"}, []string{"s6-svc", "-x"}},
	}
	run, err := os.ReadFile("../testdata/init/runit-run")
	if err != nil {
		t.Fatal(err)
	}
	self, _ := os.Executable()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := exec.LookPath(tt.start); err != nil {
				t.Skipf("%s is not installed (.ci/run installs it)", tt.start)
			}
			logDir := filepath.Join(t.TempDir(), "log")
			script := strings.NewReplacer(
				"/usr/local/bin/supervisor", buildSupervisor(t),
				"/var/lib/stele/myapp", logDir,
				"/usr/local/bin/myapp", self,
			).Replace(string(run))
			svc := filepath.Join(t.TempDir(), "myapp")
			if err := os.MkdirAll(svc, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(svc, "run"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			sup := exec.Command(tt.start, svc)
			sup.Env = append(os.Environ(), "STELE_TEST_CHILD=serve")
			if err := sup.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				exec.Command(tt.exit[0], append(tt.exit[1:], svc)...).Run()
				sup.Wait()
			}()
			deadline := time.Now().Add(30 * time.Second)
			for !logHas(t, logDir, `"ready":1`) {
				if time.Now().After(deadline) {
					t.Fatalf("the program never started under %s", tt.start)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if out, err := exec.Command(tt.stop[0], append(tt.stop[1:], svc)...).CombinedOutput(); err != nil {
				t.Fatalf("%v: %v\n%s", tt.stop, err, out)
			}
			var stopping, exited, closed bool
			for _, l := range logLines(t, logDir) {
				m := decode(t, l)
				switch {
				case m["stopping"] != nil:
					stopping = true
				case m["_event"] == "child_exited":
					exited = m["code"] == float64(0)
				case m["_event"] == "chunk_closed":
					closed = m["reason"] == "shutdown"
				}
			}
			if !stopping || !exited || !closed {
				t.Fatalf("log after stop: stopping=%v exited cleanly=%v closed=%v", stopping, exited, closed)
			}
		})
	}
}
