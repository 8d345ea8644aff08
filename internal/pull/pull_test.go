package pull

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"stele/internal/mtls"
	"stele/internal/sources"
)

// supervisor runs the real supervisor binary, serving on a free port, with
// a child that prints numbered events as fast as a shell can.
type supervisor struct {
	dir    string
	src    sources.Source
	client tls.Certificate
	cmd    *exec.Cmd
}

func startSupervisor(t *testing.T) *supervisor {
	t.Helper()
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "supervisor")
	build := exec.Command("go", "build", "-o", bin, "stele/supervisor")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	serverFP, err := mtls.WriteCert(filepath.Join(tmp, "server"), mtls.CertOptions{Name: "sup"})
	if err != nil {
		t.Fatal(err)
	}
	clientFP, err := mtls.WriteCert(filepath.Join(tmp, "client"), mtls.CertOptions{Name: "store"})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(tmp, "allow"), []byte(clientFP.String()+"\n"), 0o600)
	client, err := mtls.LoadKeyPair(filepath.Join(tmp, "client.crt"), filepath.Join(tmp, "client.key"))
	if err != nil {
		t.Fatal(err)
	}
	// A port: listen on :0 and hand it over (the supervisor binds it again).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := filepath.Join(tmp, "log")
	cmd := exec.Command(bin, "-dir", dir, "-chunk-bytes", "8KB", "-chunk-age", "1s",
		"-listen", addr, "-tls-cert", filepath.Join(tmp, "server.crt"), "-tls-key", filepath.Join(tmp, "server.key"),
		"-allow", filepath.Join(tmp, "allow"), "-restart", "never", "--",
		"/bin/sh", "-c", `i=0; while :; do echo "{\"time_ns\":$i,\"n\":$i}"; i=$((i+1)); [ $((i % 200)) -eq 0 ] && sleep 0.05; done`)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &supervisor{dir: dir, cmd: cmd, client: client,
		src: sources.Source{Name: "sup", URL: "https://" + addr, Fingerprint: serverFP}}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// Serving once the port accepts connections.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("supervisor never listened: %v", err)
		}
	}
	return s
}

// listAtLeast polls until the supervisor lists n chunks.
func listAtLeast(t *testing.T, c *Client, n int) []string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ids, err := c.List(context.Background())
		if err == nil && len(ids) >= n {
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("listing: %v, %d ids", err, len(ids))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fetchAll(t *testing.T, c *Client, id string, off int64) ([]byte, bool, error) {
	var got []byte
	last := off
	complete, err := c.Fetch(context.Background(), id, off, func(lines []byte, end int64) error {
		if lines[len(lines)-1] != '\n' || end != last+int64(len(lines)) {
			t.Fatalf("fn got %d bytes ending at %d after %d", len(lines), end, last)
		}
		last = end
		got = append(got, lines...)
		return nil
	})
	return got, complete, err
}

func TestAgainstARealSupervisor(t *testing.T) {
	s := startSupervisor(t)
	c := NewClient(s.src, s.client)
	defer c.Close()
	ids := listAtLeast(t, c, 3)
	for i := 1; i < len(ids); i++ {
		if ids[i-1] >= ids[i] {
			t.Fatalf("ids not increasing: %v", ids)
		}
	}

	// A closed chunk, whole and resumed at a line boundary.
	closed := ids[0]
	got, complete, err := fetchAll(t, c, closed, 0)
	onDisk, _ := os.ReadFile(filepath.Join(s.dir, closed))
	if err != nil || !complete || !bytes.Equal(got, onDisk) {
		t.Fatalf("closed chunk: complete=%v err=%v, %d bytes vs %d on disk", complete, err, len(got), len(onDisk))
	}
	mid := int64(bytes.IndexByte(onDisk, '\n') + 1)
	got, complete, err = fetchAll(t, c, closed, mid)
	if err != nil || !complete || !bytes.Equal(got, onDisk[mid:]) {
		t.Fatalf("resumed closed chunk: complete=%v err=%v", complete, err)
	}
	if _, _, err := fetchAll(t, c, closed, mid-1); !errors.Is(err, ErrBadOffset) {
		t.Fatalf("offset inside a line: %v, want ErrBadOffset", err)
	}
	if _, _, err := fetchAll(t, c, "1", 0); !errors.Is(err, ErrGone) {
		t.Fatalf("unknown chunk: %v, want ErrGone", err)
	}

	// The latest chunk is followed until it closes (at -chunk-age 1s at
	// the latest), and then equals its file.
	ids = listAtLeast(t, c, 1)
	latest := ids[len(ids)-1]
	got, complete, err = fetchAll(t, c, latest, 0)
	onDisk, _ = os.ReadFile(filepath.Join(s.dir, latest))
	if err != nil || !complete || !bytes.Equal(got, onDisk) {
		t.Fatalf("followed chunk: complete=%v err=%v, %d bytes vs %d on disk", complete, err, len(got), len(onDisk))
	}

	// A cancelled follow returns, with an error, and the caller resumes.
	ids = listAtLeast(t, c, 1)
	latest = ids[len(ids)-1]
	ctx, cancel := context.WithCancel(context.Background())
	var seen int64
	_, err = c.Fetch(ctx, latest, 0, func(lines []byte, end int64) error {
		seen = end
		cancel()
		return nil
	})
	if err == nil {
		t.Fatal("cancelled fetch returned no error")
	}
	got, complete, err = fetchAll(t, c, latest, seen)
	onDisk, _ = os.ReadFile(filepath.Join(s.dir, latest))
	if err != nil || !complete || !bytes.Equal(got, onDisk[seen:]) {
		t.Fatalf("resume after cancel: complete=%v err=%v", complete, err)
	}
}

func TestWrongPinIsRefused(t *testing.T) {
	s := startSupervisor(t)
	src := s.src
	src.Fingerprint[0] ^= 1
	c := NewClient(src, s.client)
	defer c.Close()
	_, err := c.List(context.Background())
	if !errors.Is(err, mtls.ErrPinMismatch) {
		t.Fatalf("List with a wrong pin: %v, want ErrPinMismatch", err)
	}
}

func TestRangeStart(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"bytes 10-99/100", 10, true},
		{"bytes 0-*/*", 0, true},
		{"bytes -5/100", 0, false},
		{"items 1-2/3", 0, false},
		{"bytes 1", 0, false},
	} {
		got, ok := rangeStart(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("rangeStart(%q) = %d, %v", tt.in, got, ok)
		}
	}
}
