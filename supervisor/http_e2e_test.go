package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"stele/internal/mtls"
)

func init() {
	// paced writes RATE lines a second, each stamped with the wall clock
	// when it is written, until killed; on SIGHUP it writes a line saying so.
	extraChildModes["paced"] = func(w *bufio.Writer) int {
		rate, _ := strconv.Atoi(os.Getenv("RATE"))
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		tick := time.NewTicker(time.Millisecond)
		start := time.Now()
		for seq := int64(0); ; {
			select {
			case <-hup:
				fmt.Fprintf(w, `{"time_ns":%d,"child_got":"SIGHUP"}`+"\n", time.Now().UnixNano())
			case <-tick.C:
				// Catch up on ticks a busy machine skipped, so the rate holds.
				due := int64(time.Since(start).Seconds() * float64(rate))
				for ; seq < due; seq++ {
					fmt.Fprintf(w, `{"time_ns":%d,"seq":%d,"msg":"paced event with a little padding"}`+"\n", time.Now().UnixNano(), seq)
				}
			}
			w.Flush()
		}
	}
	// quiet writes one line, then only a line per SIGHUP.
	extraChildModes["quiet"] = func(w *bufio.Writer) int {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		fmt.Fprintln(w, `{"time_ns":1,"ready":1}`)
		w.Flush()
		for range hup {
			fmt.Fprintf(w, `{"time_ns":%d,"child_got":"SIGHUP"}`+"\n", time.Now().UnixNano())
			w.Flush()
		}
		return 0
	}
}

// supBin is buildSupervisor for benchmarks too.
func supBin(tb testing.TB) string {
	tb.Helper()
	if t, ok := tb.(*testing.T); ok {
		return buildSupervisor(t)
	}
	if supervisorBin != "" {
		return supervisorBin
	}
	dir, err := os.MkdirTemp("", "stele-sup-bin")
	if err != nil {
		tb.Fatal(err)
	}
	bin := filepath.Join(dir, "supervisor")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build: %v\n%s", err, out)
	}
	supervisorBin = bin
	return bin
}

// certSet is a directory of certificates made by `supervisor gencert`.
type certSet struct {
	t   testing.TB
	dir string
	fp  map[string]mtls.Fingerprint
}

func newCertSet(t testing.TB, names ...string) *certSet {
	t.Helper()
	cs := &certSet{t: t, dir: t.TempDir(), fp: map[string]mtls.Fingerprint{}}
	for _, n := range names {
		out, err := exec.Command(supBin(t), "gencert", "-name", n, "-out", filepath.Join(cs.dir, n)).Output()
		if err != nil {
			t.Fatalf("gencert %s: %v", n, err)
		}
		fp, err := mtls.ParseFingerprint(strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatal(err)
		}
		cs.fp[n] = fp
	}
	return cs
}

// addExpired writes a certificate and key that expired yesterday.
func (cs *certSet) addExpired(name string) {
	certPEM, keyPEM, fp, err := mtls.GenerateCert(mtls.CertOptions{Name: name, NotBefore: time.Now().Add(-72 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	if err != nil {
		cs.t.Fatal(err)
	}
	os.WriteFile(cs.crt(name), certPEM, 0o644)
	os.WriteFile(cs.key(name), keyPEM, 0o600)
	cs.fp[name] = fp
}

func (cs *certSet) crt(n string) string { return filepath.Join(cs.dir, n+".crt") }
func (cs *certSet) key(n string) string { return filepath.Join(cs.dir, n+".key") }

// allow writes the allow file listing names.
func (cs *certSet) allow(names ...string) string {
	path := filepath.Join(cs.dir, "allow")
	var b strings.Builder
	b.WriteString("# written by the test\n")
	for _, n := range names {
		b.WriteString(cs.fp[n].String() + "  # " + n + "\n")
	}
	if err := os.WriteFile(path+".tmp", []byte(b.String()), 0o644); err != nil {
		cs.t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		cs.t.Fatal(err)
	}
	return path
}

// tlsConfig is a Go client config presenting name's certificate (none
// for ""), pinning the server.
func (cs *certSet) tlsConfig(name string) *tls.Config {
	var cert tls.Certificate
	if name != "" {
		var err error
		cert, err = mtls.LoadKeyPair(cs.crt(name), cs.key(name))
		if err != nil {
			cs.t.Fatal(err)
		}
	}
	cfg := mtls.NewClientConfig(mtls.ClientOptions{Cert: cert, Server: cs.fp["server"]})
	if name == "" {
		cfg.GetClientCertificate = nil
	}
	return cfg
}

func (cs *certSet) client(name string) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cs.tlsConfig(name), DisableCompression: true}}
}

// httpSup is a supervisor serving HTTPS around this test binary.
type httpSup struct {
	t    testing.TB
	dir  string
	cmd  *exec.Cmd
	addr string
	cs   *certSet
}

func startHTTPSup(t testing.TB, cs *certSet, mode string, env []string, flags ...string) *httpSup {
	t.Helper()
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-dir", dir, "-listen", "127.0.0.1:0", "-tls-cert", cs.crt("server"), "-tls-key", cs.key("server"), "-allow", filepath.Join(cs.dir, "allow"), "-restart", "never"}, flags...)
	cmd := exec.Command(supBin(t), append(append(args, "--", self), "-test.run=^$")...)
	cmd.Env = append(append(os.Environ(), "STELE_TEST_CHILD="+mode), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &httpSup{t: t, dir: dir, cmd: cmd, cs: cs}
	t.Cleanup(s.stop)
	r := bufio.NewReader(stderr)
	l, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("no address from the supervisor: %v", err)
	}
	rest, ok := strings.CutPrefix(l, "supervisor: serving https://")
	if !ok {
		t.Fatalf("unexpected first line: %q", l)
	}
	s.addr, _, _ = strings.Cut(rest, "/")
	// Drain stderr until the process exits; the pipe closes with it.
	go io.Copy(io.Discard, r)
	return s
}

func (s *httpSup) url(path string) string { return "https://" + s.addr + path }

// stop ends the supervisor with SIGTERM and waits for it.
func (s *httpSup) stop() {
	if s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
}

// latestID returns the last id of the listing.
func (s *httpSup) latestID(c *http.Client) string {
	s.t.Helper()
	ids := s.list(c)
	return ids[len(ids)-1]
}

func (s *httpSup) list(c *http.Client) []string {
	s.t.Helper()
	resp, err := c.Get(s.url("/chunk/"))
	if err != nil {
		s.t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		s.t.Fatalf("listing: %d %v", resp.StatusCode, err)
	}
	return strings.Fields(string(b))
}

// readUntil reads lines of a stream until one contains s.
func readUntil(t *testing.T, r *bufio.Reader, s string) []byte {
	t.Helper()
	var got []byte
	for {
		l, err := r.ReadBytes('\n')
		got = append(got, l...)
		if bytes.Contains(l, []byte(s)) {
			return got
		}
		if err != nil {
			t.Fatalf("stream ended (%v) before %q", err, s)
		}
	}
}

func curl(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command("curl", append([]string{"-sS", "--max-time", "60"}, args...)...)
	out, err := cmd.Output()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("curl: %v", err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

func TestHTTPGencertAndFingerprint(t *testing.T) {
	cs := newCertSet(t, "host-a")
	bin := buildSupervisor(t)
	st, err := os.Stat(cs.key("host-a"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st.Mode(), err)
	}
	out, err := exec.Command(bin, "fingerprint", cs.crt("host-a")).Output()
	if err != nil || strings.TrimSpace(string(out)) != cs.fp["host-a"].String() {
		t.Errorf("fingerprint: %q %v, want %s", out, err, cs.fp["host-a"])
	}
	// openssl agrees.
	out, err = exec.Command("openssl", "x509", "-in", cs.crt("host-a"), "-noout", "-fingerprint", "-sha256").Output()
	if err != nil {
		t.Fatal(err)
	}
	_, hexColons, _ := strings.Cut(strings.TrimSpace(string(out)), "=")
	if fp, err := mtls.ParseFingerprint(hexColons); err != nil || fp != cs.fp["host-a"] {
		t.Errorf("openssl says %s", hexColons)
	}
	cmd := exec.Command(bin, "gencert", "-name", "host-a", "-out", filepath.Join(cs.dir, "host-a"))
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "refusing to overwrite") {
		t.Errorf("gencert over existing files: %v %s", err, out)
	}
	for _, args := range [][]string{{"gencert"}, {"gencert", "-name", "x"}, {"fingerprint"}, {"fingerprint", cs.key("host-a")}} {
		if err := exec.Command(bin, args...).Run(); err == nil {
			t.Errorf("%v succeeded", args)
		}
	}
}

func TestHTTPClientsAdmittedOrRefused(t *testing.T) {
	cs := newCertSet(t, "server", "alice", "mallory")
	cs.addExpired("old")
	cs.allow("alice", "old")
	s := startHTTPSup(t, cs, "quiet", nil)
	tests := []struct {
		name  string
		cert  string // "" for none
		tls12 bool
		plain bool
		ok    bool
	}{
		{name: "listed", cert: "alice", ok: true},
		{name: "no certificate"},
		{name: "unlisted", cert: "mallory"},
		{name: "expired though listed", cert: "old"},
		{name: "TLS 1.2", cert: "alice", tls12: true},
		{name: "plain HTTP", plain: true},
	}
	for _, tt := range tests {
		// Go's net/http client.
		cfg := cs.tlsConfig(tt.cert)
		if tt.tls12 {
			cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
		}
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		url := s.url("/chunk/")
		if tt.plain {
			url = "http://" + s.addr + "/chunk/"
		}
		resp, err := c.Get(url)
		gotOK := err == nil && resp.StatusCode == 200
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tt.plain && bytes.Contains(b, []byte("1")) && resp.StatusCode == 200 {
				t.Errorf("plain HTTP got the listing")
			}
		}
		if gotOK != tt.ok {
			t.Errorf("Go client, %s: %v (err %v), want ok=%v", tt.name, gotOK, err, tt.ok)
		}
		c.CloseIdleConnections()

		// curl.
		args := []string{"--cacert", cs.crt("server"), "-o", "/dev/null", "-w", "%{http_code}"}
		if tt.cert != "" {
			args = append(args, "--cert", cs.crt(tt.cert), "--key", cs.key(tt.cert))
		}
		if tt.tls12 {
			args = append(args, "--tls-max", "1.2")
		}
		url = "https://localhost:" + strings.Split(s.addr, ":")[1] + "/chunk/"
		if tt.plain {
			url = "http://" + s.addr + "/chunk/"
		}
		code, status := curl(t, append(args, url)...)
		if (status == 0 && code == "200") != tt.ok {
			t.Errorf("curl, %s: exit %d, HTTP %q; want ok=%v", tt.name, status, code, tt.ok)
		}
	}
	s.stop()
	// Admitted requests are events with the client's fingerprint; refusals
	// of listed-but-expired and unlisted certificates are events too.
	var requests, refusedOld, refusedMallory int
	for _, l := range logLines(t, s.dir) {
		m := decode(t, l)
		switch m["_event"] {
		case "http_request":
			if m["client"] == cs.fp["alice"].String() && m["status"] == 200.0 && m["path"] == "/chunk/" {
				requests++
			}
		case "tls_client_refused":
			switch m["client"] {
			case cs.fp["old"].String():
				refusedOld++
			case cs.fp["mallory"].String():
				refusedMallory++
			}
		}
	}
	if requests != 2 {
		t.Errorf("%d request events for alice, want 2", requests)
	}
	if refusedOld == 0 || refusedMallory == 0 {
		t.Errorf("refusal events: old %d, mallory %d", refusedOld, refusedMallory)
	}
}

func TestHTTPSIGHUPSwapsClientsWithoutDroppingStreams(t *testing.T) {
	cs := newCertSet(t, "server", "alice", "bob")
	cs.allow("alice")
	s := startHTTPSup(t, cs, "quiet", nil)
	alice, bob := cs.client("alice"), cs.client("bob")
	if _, err := bob.Get(s.url("/chunk/")); err == nil {
		t.Fatal("bob admitted before being listed")
	}
	// Alice follows the latest chunk; events reach her as they happen.
	resp, err := alice.Get(s.url("/chunk/" + s.latestID(alice)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	stream := bufio.NewReader(resp.Body)
	readUntil(t, stream, `"ready":1`)

	// Bob in, alice out: her open stream carries on.
	cs.allow("bob")
	s.cmd.Process.Signal(syscall.SIGHUP)
	readUntil(t, stream, `"_event":"allow_reloaded"`)
	readUntil(t, stream, `"child_got":"SIGHUP"`) // forwarded to the program too
	if r, err := bob.Get(s.url("/chunk/")); err != nil || r.StatusCode != 200 {
		t.Fatalf("bob after reload: %v", err)
	} else {
		r.Body.Close()
	}
	alice.CloseIdleConnections()
	if _, err := cs.client("alice").Get(s.url("/chunk/")); err == nil {
		t.Fatal("alice admitted on a new connection after being removed")
	}

	// A bad file keeps the list in force and says why.
	os.WriteFile(filepath.Join(cs.dir, "allow"), []byte("not-a-fingerprint\n"), 0o644)
	s.cmd.Process.Signal(syscall.SIGHUP)
	got := readUntil(t, stream, `"_event":"allow_reload_failed"`)
	if !bytes.Contains(got, []byte(`line 1: \"not-a-fingerprint\" is not a fingerprint`)) {
		t.Errorf("reload failure event: %s", got[bytes.LastIndex(got[:len(got)-1], []byte("\n"))+1:])
	}
	if r, err := cs.client("bob").Get(s.url("/chunk/")); err != nil || r.StatusCode != 200 {
		t.Fatalf("bob after a bad reload: %v", err)
	} else {
		r.Body.Close()
	}
	// The stream ends cleanly when the supervisor stops.
	s.stop()
	if _, err := io.ReadAll(stream); err != nil {
		t.Errorf("alice's stream after shutdown: %v", err)
	}
}

func TestHTTPFollowersGetTheClosedChunk(t *testing.T) {
	cs := newCertSet(t, "server", "alice")
	cs.allow("alice")
	s := startHTTPSup(t, cs, "paced", []string{"RATE=4000"}, "-chunk-bytes", "64KB")
	c := cs.client("alice")
	id := s.latestID(c)
	// A Go follower from the start, a Go follower resuming at a line
	// boundary, and curl.
	type result struct {
		b   []byte
		err error
	}
	res := make(chan result, 3)
	follow := func(hdr string) {
		req, _ := http.NewRequest("GET", s.url("/chunk/"+id), nil)
		if hdr != "" {
			req.Header.Set("Range", hdr)
		}
		resp, err := c.Do(req)
		if err != nil {
			res <- result{nil, err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		res <- result{b, err}
	}
	go follow("")
	// Resume from where the first line ends, as a reconnecting client would.
	resp, err := c.Get(s.url("/chunk/" + id))
	if err != nil {
		t.Fatal(err)
	}
	first, err := bufio.NewReader(resp.Body).ReadBytes('\n')
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	go follow("bytes=" + strconv.Itoa(len(first)) + "-")
	port := strings.Split(s.addr, ":")[1]
	curlOut, status := curl(t, "--cacert", cs.crt("server"), "--cert", cs.crt("alice"), "--key", cs.key("alice"), "https://localhost:"+port+"/chunk/"+id)
	if status != 0 {
		t.Fatalf("curl exit %d", status)
	}
	whole, err := os.ReadFile(filepath.Join(s.dir, id))
	if err != nil {
		t.Fatal(err)
	}
	if curlOut != string(whole) {
		t.Errorf("curl follower got %d bytes, the closed chunk has %d", len(curlOut), len(whole))
	}
	for range 2 {
		r := <-res
		if r.err != nil {
			t.Fatalf("Go follower: %v", r.err)
		}
		if !bytes.Equal(r.b, whole) && !bytes.Equal(r.b, whole[len(first):]) {
			t.Errorf("Go follower got %d bytes, the closed chunk has %d", len(r.b), len(whole))
		}
	}
	// The chunk is made durable, with its .sum, within an fsync interval.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(s.dir, id+".sum")); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("followed chunk not made durable: %v", err)
		}
	}
	// The closed chunk, again, whole and resumed.
	resp, err = c.Get(s.url("/chunk/" + id))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(b, whole) || resp.ContentLength != int64(len(whole)) || resp.Header.Get("ETag") == "" {
		t.Errorf("closed chunk: %v, %d bytes", err, len(b))
	}
	out, status := curl(t, "--cacert", cs.crt("server"), "--cert", cs.crt("alice"), "--key", cs.key("alice"), "-H", "Range: bytes="+strconv.Itoa(len(first))+"-", "https://localhost:"+port+"/chunk/"+id)
	if status != 0 || out != string(whole[len(first):]) {
		t.Errorf("curl range: exit %d, %d bytes", status, len(out))
	}
}

func TestHTTPQuietFollowerOutlivesTimeouts(t *testing.T) {
	cs := newCertSet(t, "server", "alice")
	cs.allow("alice")
	const timeouts = 100 * time.Millisecond
	d := timeouts.String()
	s := startHTTPSup(t, cs, "quiet", nil, "-http-header-timeout", d, "-http-idle-timeout", d, "-http-write-timeout", d)
	c := cs.client("alice")
	resp, err := c.Get(s.url("/chunk/" + s.latestID(c)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	stream := bufio.NewReader(resp.Body)
	readUntil(t, stream, `"ready":1`)
	// Quiet for twenty times each of the server's timeouts.
	<-time.After(20 * timeouts)
	s.cmd.Process.Signal(syscall.SIGHUP)
	readUntil(t, stream, `"child_got":"SIGHUP"`)
}

func TestHTTPRetentionGives404(t *testing.T) {
	cs := newCertSet(t, "server", "alice")
	cs.allow("alice")
	s := startHTTPSup(t, cs, "paced", []string{"RATE=4000"}, "-chunk-bytes", "64KB", "-max-bytes", "256KB")
	c := cs.client("alice")
	oldest := s.list(c)[0]
	// Follow latest chunks one after another until one says oldest was discarded.
	for range 50 {
		resp, err := c.Get(s.url("/chunk/" + s.latestID(c)))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(`"_event":"chunk_discarded","id":"`+oldest+`"`)) {
			r, err := c.Get(s.url("/chunk/" + oldest))
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			if r.StatusCode != 404 {
				t.Fatalf("discarded chunk: %d, want 404", r.StatusCode)
			}
			ids := s.list(c)
			for i := 1; i < len(ids); i++ {
				if ids[i-1] >= ids[i] {
					t.Fatalf("listing out of order: %v", ids)
				}
			}
			if ids[0] <= oldest {
				t.Fatalf("listing still starts at %s", ids[0])
			}
			return
		}
	}
	t.Fatal("oldest chunk never discarded")
}

// openSockets counts a process's open sockets.
func openSockets(t *testing.T, pid int) int {
	t.Helper()
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	e, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range e {
		if l, err := os.Readlink(filepath.Join(dir, f.Name())); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}

// waitSockets waits (bounded: connections close asynchronously) until pid
// has at most n sockets open.
func waitSockets(t *testing.T, pid, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for openSockets(t, pid) > n {
		if time.Now().After(deadline) {
			t.Fatalf("supervisor holds %d sockets, want %d", openSockets(t, pid), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHTTPHostileInput(t *testing.T) {
	cs := newCertSet(t, "server", "alice")
	cs.allow("alice")
	s := startHTTPSup(t, cs, "quiet", nil, "-http-header-timeout", "300ms", "-max-conns", "4")
	pid := s.cmd.Process.Pid
	c := cs.client("alice")
	s.list(c) // the child is running and a connection was made
	c.CloseIdleConnections()
	const base = 1 // the listener
	waitSockets(t, pid, base)
	fds := len(mustReadDir(t, "/proc/"+strconv.Itoa(pid)+"/fd"))
	dial := func() *tls.Conn {
		conn, err := tls.Dial("tcp", s.addr, cs.tlsConfig("alice"))
		if err != nil {
			t.Fatal(err)
		}
		return conn
	}
	// Each request on a fresh connection; the answer's status line.
	status := func(req string) string {
		waitSockets(t, pid, base) // earlier connections are closed: each test is alone under the bound
		conn := dial()
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.WriteString(conn, req); err != nil {
			return "write: " + err.Error()
		}
		l, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil {
			return "read: " + err.Error()
		}
		return strings.TrimSpace(l)
	}
	get := func(target string, extra ...string) string {
		return "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + strings.Join(extra, "") + "Connection: close\r\n\r\n"
	}
	tests := []struct {
		name, req, want string
	}{
		{"traversal", get("/chunk/../x"), "HTTP/1.1 400 Bad Request"},
		{"traversal, deeper", get("/chunk/../../../../etc/passwd"), "HTTP/1.1 400 Bad Request"},
		{"encoded traversal", get("/chunk/%2e%2e%2fx"), "HTTP/1.1 400 Bad Request"},
		{"encoded upper case", get("/chunk/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd"), "HTTP/1.1 400 Bad Request"},
		{"encoded slash", get("/chunk/..%2fx"), "HTTP/1.1 400 Bad Request"},
		{"NUL", get("/chunk/1%00"), "HTTP/1.1 400 Bad Request"},
		{"overlong id", get("/chunk/" + strings.Repeat("1", 17)), "HTTP/1.1 400 Bad Request"},
		{"very long id", get("/chunk/" + strings.Repeat("1", 4000)), "HTTP/1.1 400 Bad Request"},
		{"lower case id", get("/chunk/abc"), "HTTP/1.1 400 Bad Request"},
		{"unknown id", get("/chunk/1"), "HTTP/1.1 404 Not Found"},
		{"huge request line", get("/chunk/" + strings.Repeat("1", 100_000)), "HTTP/1.1 431 Request Header Fields Too Large"},
		{"huge header", get("/chunk/", "X-Junk: "+strings.Repeat("j", 100_000)+"\r\n"), "HTTP/1.1 431 Request Header Fields Too Large"},
		{"many headers", get("/chunk/", strings.Repeat("X-J: j\r\n", 5000)), "HTTP/1.1 431 Request Header Fields Too Large"},
		{"body", "POST /chunk/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", "HTTP/1.1 405 Method Not Allowed"},
		{"absolute URI", get("https://evil.example/chunk/../x"), "HTTP/1.1 400 Bad Request"},
		{"bad range", get("/chunk/", "Range: bytes=99999999999999999999999999-\r\n"), "HTTP/1.1 200 OK"},
	}
	for _, tt := range tests {
		if got := status(tt.req); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}

	// Slowloris: a header that never ends is cut off at the header timeout.
	conn := dial()
	io.WriteString(conn, "GET /chunk/ HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if n, err := conn.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("slowloris connection still open: read %d, %v", n, err)
	}
	conn.Close()

	// More connections than -max-conns: the excess is closed at once, and
	// a slot comes back when a connection closes.
	waitSockets(t, pid, base) // the connections above are gone
	var held []*tls.Conn
	for range 4 {
		held = append(held, dial())
	}
	for _, h := range held {
		// Make sure each is past its handshake on the server side too.
		io.WriteString(h, "GET /chunk/1 HTTP/1.1\r\nHost: x\r\n\r\n") // keep-alive
		if l, err := bufio.NewReader(h).ReadString('\n'); err != nil || !strings.Contains(l, "404") {
			t.Fatalf("held connection: %q %v", l, err)
		}
	}
	// The reset may come before the connect returns, or during the handshake.
	if raw, err := net.Dial("tcp", s.addr); err == nil {
		over := tls.Client(raw, cs.tlsConfig("alice"))
		over.SetDeadline(time.Now().Add(30 * time.Second))
		if err := over.Handshake(); err == nil {
			t.Errorf("a connection over the bound completed its handshake (%d sockets)", openSockets(t, pid))
		}
		over.Close()
	}
	held[0].Close()
	// The slot is freed asynchronously: retry, bounded.
	ok := false
	for range 200 {
		conn, err := tls.Dial("tcp", s.addr, cs.tlsConfig("alice"))
		if err == nil {
			io.WriteString(conn, get("/chunk/1"))
			l, err := bufio.NewReader(conn).ReadString('\n')
			conn.Close()
			if err == nil && strings.Contains(l, "404") {
				ok = true
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !ok {
		t.Error("no slot came back after a connection closed")
	}
	for _, h := range held[1:] {
		h.Close()
	}
	// Everything hostile input opened is released.
	waitSockets(t, pid, base)
	if n := len(mustReadDir(t, "/proc/"+strconv.Itoa(pid)+"/fd")); n > fds {
		t.Errorf("supervisor holds %d descriptors, %d before", n, fds)
	}
	if r, err := c.Get(s.url("/chunk/")); err != nil || r.StatusCode != 200 {
		t.Fatalf("server unwell after hostile input: %v", err)
	} else {
		r.Body.Close()
	}
}

func mustReadDir(t *testing.T, dir string) []os.DirEntry {
	t.Helper()
	e, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
