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
// seconds: two supervisors serve their logs over mutual TLS, the store
// pulls from both and answers /status to curl, and everything stops
// cleanly with every source's events exported.
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
	cmd.Env = append(os.Environ(), "DEMO_SECONDS=10", "DEMO_PORT="+strconv.Itoa(port), "TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make demo: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`store /status: (\d+) events stored`).FindAllStringSubmatch(string(out), -1)
	if len(m) == 0 || m[len(m)-1][1] == "0" || m[len(m)-1][1] == "" {
		t.Fatalf("the demo never showed stored events over HTTPS:\n%s", out)
	}
	for _, src := range []string{"web1", "web2", "store"} {
		m := regexp.MustCompile(`(?m)^  ` + src + `: (\d+)$`).FindStringSubmatch(string(out))
		if m == nil || m[1] == "0" {
			t.Errorf("the export holds no events of %s:\n%s", src, out)
		}
	}
	for _, want := range []string{"web1 live", "web2 live", `"_event":"store_stopping"`, "p99_duration_ms", "pii:"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}
