package collect

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"stele/internal/ingest"
	"stele/internal/mtls"
	"stele/internal/sources"
)

// TestRealSupervisorKilled pulls from the real supervisor binary, kills it
// with SIGKILL mid-stream twice and restarts it on the same directory and
// port: every line of every chunk it closed is stored, once.
func TestRealSupervisorKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the supervisor binary")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "supervisor")
	build := exec.Command("go", "build", "-o", bin, "stele/supervisor")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	r := newRig(t)
	serverFP, err := mtls.WriteCert(filepath.Join(tmp, "server"), mtls.CertOptions{Name: "sup"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "allow"), []byte(r.certFP.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := filepath.Join(tmp, "log")
	run := func() *exec.Cmd {
		// Each child's lines carry its pid: a restarted child's lines
		// are new records, not duplicates of the first child's.
		cmd := exec.Command(bin, "-dir", dir, "-chunk-bytes", "8KB", "-chunk-age", "1s",
			"-listen", addr, "-tls-cert", filepath.Join(tmp, "server.crt"), "-tls-key", filepath.Join(tmp, "server.key"),
			"-allow", filepath.Join(tmp, "allow"), "-restart", "never", "--",
			"/bin/sh", "-c", `i=0; while :; do echo "{\"time_ns\":$i,\"pid\":$$,\"n\":$i}"; i=$((i+1)); [ $((i % 50)) -eq 0 ] && sleep 0.05; done`)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
		return cmd
	}
	src := sources.Source{Name: "sup", URL: "https://" + addr, Fingerprint: serverFP}
	cmd := run()
	r.start(2, src)
	for range 2 {
		n := r.store.Stats().Records
		r.waitFor("lines", func() bool { return r.store.Stats().Records > n+300 })
		cmd.Process.Kill()
		cmd.Wait()
		cmd = run()
	}
	r.waitFor("lines after the restarts", func() bool { return len(r.eventsOf("source_connected", "sup")) >= 3 })
	// Every chunk closed on disk now (it has its .sum) is stored whole.
	chunks := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".sum"); ok {
			b, err := os.ReadFile(filepath.Join(dir, id))
			if err != nil {
				t.Fatal(err)
			}
			chunks[id] = b
		}
	}
	r.waitFor("every closed chunk", func() bool {
		stored := r.store.Chunks("sup")
		for id, b := range chunks {
			if cp := stored[id]; !cp.Complete || cp.Offset != int64(len(b)) {
				return false
			}
		}
		return true
	})
	want := map[string]bool{}
	for _, b := range chunks {
		for _, line := range bytes.SplitAfter(b, []byte("\n")) {
			if len(line) > 0 {
				want[string(line[:len(line)-1])] = true
			}
		}
	}
	got := map[string]int{}
	r.store.Scan(func(rec ingest.Record) bool {
		got[string(rec.Line)]++
		return true
	})
	for line := range want {
		if got[line] != 1 {
			t.Errorf("line %s stored %d times", line, got[line])
		}
	}
	t.Logf("%d chunks, %d lines closed on disk; %d stored", len(chunks), len(want), len(got))
}
