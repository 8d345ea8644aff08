package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunitRunFileWorksAsWritten runs testdata/init/runit-run under a real
// runsv, with only its paths changed, and stops it with `sv stop`: the log
// must end complete, as after any clean stop.
func TestRunitRunFileWorksAsWritten(t *testing.T) {
	if _, err := exec.LookPath("runsv"); err != nil {
		t.Skip("runit is not installed (.ci/run installs it)")
	}
	run, err := os.ReadFile("../testdata/init/runit-run")
	if err != nil {
		t.Fatal(err)
	}
	self, _ := os.Executable()
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
	runsv := exec.Command("runsv", svc)
	runsv.Env = append(os.Environ(), "STELE_TEST_CHILD=serve")
	if err := runsv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		exec.Command("sv", "exit", svc).Run()
		runsv.Wait()
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !logHas(t, logDir, `"ready":1`) {
		if time.Now().After(deadline) {
			t.Fatal("the program never started under runsv")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out, err := exec.Command("sv", "-w", "20", "stop", svc).CombinedOutput(); err != nil {
		t.Fatalf("sv stop: %v\n%s", err, out)
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
		t.Fatalf("log after sv stop: stopping=%v exited cleanly=%v closed=%v", stopping, exited, closed)
	}
}
