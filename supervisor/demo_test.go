package main

import (
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestMakeDemoRuns runs `make demo` as the README tells users to, for a few
// seconds: it must serve the log over mutual TLS, read it back with curl,
// and stop cleanly.
func TestMakeDemoRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the demo")
	}
	for _, tool := range []string{"make", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (.ci/run installs it)", tool)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("make", "demo")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "DEMO_SECONDS=5", "DEMO_PORT="+strconv.Itoa(port), "TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make demo: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`GET /chunk/ lists (\d+) chunks`).FindAllStringSubmatch(string(out), -1)
	if len(m) == 0 || m[len(m)-1][1] == "0" {
		t.Fatalf("the demo never listed chunks over HTTPS:\n%s", out)
	}
	for _, want := range []string{`"kind":`, "every chunk closed", `"reason":"shutdown"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}
