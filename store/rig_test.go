package main

// The rig of the end-to-end tests: real store and supervisor binaries, this
// test binary as the supervised program, certificates from `store gencert`,
// a TCP proxy that can cut a source off, and curl for /status.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zeebo/xxh3"

	"stele/internal/collect"
)

// The test binary doubles as the supervised program: with STELE_E2E_CHILD
// set, TestMain runs the child instead of tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv("STELE_E2E_CHILD"); mode != "" {
		os.Exit(childMain(mode))
	}
	os.Exit(m.Run())
}

// childMain is the supervised program. "paced" writes RATE events a second,
// each unique (its run and a sequence number), until SIGUSR1, which makes
// it fall quiet; SIGTERM ends it with status 0.
func childMain(mode string) int {
	if mode == "query" {
		return queryChildMain()
	}
	if mode != "paced" {
		return 99
	}
	rate, _ := strconv.Atoi(os.Getenv("RATE"))
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGTERM)
	w := bufio.NewWriterSize(os.Stdout, 1<<16)
	run := fmt.Sprintf("%s-%d-%d", os.Getenv("NAME"), os.Getpid(), time.Now().UnixNano())
	tick := time.NewTicker(time.Millisecond)
	start := time.Now()
	quiet := false
	for seq := int64(0); ; {
		select {
		case sig := <-sigs:
			w.Flush()
			if sig == syscall.SIGTERM {
				return 0
			}
			quiet = true
			tick.Stop()
		case <-tick.C:
			// Catch up on ticks a busy machine skipped, so the rate holds.
			due := int64(time.Since(start).Seconds() * float64(rate))
			for ; seq < due && !quiet; seq++ {
				fmt.Fprintf(w, `{"time_ns":%d,"run":"%s","seq":%d,"msg":"paced event with a little padding"}`+"\n", time.Now().UnixNano(), run, seq)
			}
			w.Flush()
		}
	}
}

// bins are the programs under test, built into a test's temporary directory.
type bins struct{ store, supervisor string }

func buildBins(t *testing.T) bins {
	t.Helper()
	dir := t.TempDir()
	b := bins{store: filepath.Join(dir, "store"), supervisor: filepath.Join(dir, "supervisor")}
	for _, x := range []struct{ out, pkg string }{{b.store, "."}, {b.supervisor, "../supervisor"}} {
		cmd := exec.Command("go", "build", "-o", x.out, x.pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", x.pkg, err, out)
		}
	}
	return b
}

// certs is a directory of certificates made by `store gencert`.
type certs struct {
	t   *testing.T
	dir string
	fp  map[string]string
}

func newCerts(t *testing.T, b bins, names ...string) *certs {
	t.Helper()
	cs := &certs{t: t, dir: t.TempDir(), fp: map[string]string{}}
	for _, n := range names {
		out, err := exec.Command(b.store, "gencert", "-name", n, "-out", filepath.Join(cs.dir, n)).Output()
		if err != nil {
			t.Fatalf("gencert %s: %v", n, err)
		}
		cs.fp[n] = strings.TrimSpace(string(out))
	}
	return cs
}

func (cs *certs) crt(n string) string { return filepath.Join(cs.dir, n+".crt") }
func (cs *certs) key(n string) string { return filepath.Join(cs.dir, n+".key") }

// allow writes an allow file listing names and returns its path.
func (cs *certs) allow(file string, names ...string) string {
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s  # %s\n", cs.fp[n], n)
	}
	path := filepath.Join(cs.dir, file)
	writeFile(cs.t, path, b.String())
	return path
}

// writeFile replaces path atomically, as an operator's editor would.
func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// proc is a running store or supervisor.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	addr string // what it serves HTTPS on

	mu     sync.Mutex
	stderr bytes.Buffer // after the serving line
	done   chan struct{}
	err    error // of Wait, once done is closed
}

// startProc runs cmd and waits for the stderr line "PREFIX ADDR/...".
func startProc(t *testing.T, name string, cmd *exec.Cmd, prefix string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, cmd: cmd, done: make(chan struct{})}
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.kill)
	addr := make(chan string, 1)
	go func() {
		r := bufio.NewReader(pipe)
		sent := false
		for {
			l, err := r.ReadString('\n')
			if rest, ok := strings.CutPrefix(l, prefix); ok && !sent {
				a, _, _ := strings.Cut(rest, "/")
				addr <- a
				sent = true
			} else if l != "" {
				p.mu.Lock()
				p.stderr.WriteString(l)
				p.mu.Unlock()
			}
			if err != nil {
				break
			}
		}
		p.err = cmd.Wait()
		close(p.done)
	}()
	select {
	case p.addr = <-addr:
	case <-p.done:
		t.Fatalf("%s exited before serving: %v\n%s", name, p.err, p.errText())
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not start serving within a minute\n%s", name, p.errText())
	}
	return p
}

func (p *proc) errText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// kill ends p with SIGKILL, if it runs, and waits for it.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.done
}

// stop ends p with SIGTERM and returns its exit status.
func (p *proc) stop() int {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(2 * time.Minute):
		p.kill()
		p.t.Fatalf("%s did not stop within 2 minutes of SIGTERM", p.name)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatalf("%s: %v", p.name, p.err)
	}
	return 0
}

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// supervisor is one supervisor around the paced child (or the child of
// another mode), on a fixed port so that it can be restarted where the
// store expects it.
type supervisor struct {
	name string
	mode string // STELE_E2E_CHILD; "" is "paced"
	dir  string
	port int
	p    *proc
}

func startSupervisor(t *testing.T, b bins, cs *certs, s *supervisor, rate int) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if s.dir == "" {
		s.dir = t.TempDir()
	}
	if s.port == 0 {
		s.port = freePort(t)
	}
	cmd := exec.Command(b.supervisor, "-dir", s.dir,
		"-listen", "127.0.0.1:"+strconv.Itoa(s.port),
		"-tls-cert", cs.crt(s.name), "-tls-key", cs.key(s.name),
		"-allow", filepath.Join(cs.dir, "sup.allow"),
		"-chunk-bytes", "64KB", "-stats-interval", "1h", "-restart", "always",
		"--", self, "-test.run=^$")
	mode := s.mode
	if mode == "" {
		mode = "paced"
	}
	cmd.Env = append(os.Environ(), "STELE_E2E_CHILD="+mode, "RATE="+strconv.Itoa(rate), "NAME="+s.name)
	s.p = startProc(t, "supervisor "+s.name, cmd, "supervisor: serving https://")
}

// store is the store under test; its directory and files outlive restarts.
type store struct {
	dir, sources, allow string
	p                   *proc
}

func startStore(t *testing.T, b bins, cs *certs, st *store, extra ...string) {
	t.Helper()
	args := append([]string{"-dir", st.dir, "-sources", st.sources,
		"-tls-cert", cs.crt("store"), "-tls-key", cs.key("store"),
		"-listen", "127.0.0.1:0", "-allow", st.allow}, extra...)
	st.p = startProc(t, "store", exec.Command(b.store, args...), "store: serving https://")
}

// curlStatus fetches the store's /status with curl and a client cert.
func curlStatus(t *testing.T, cs *certs, st *store, client string) (status, error) {
	t.Helper()
	out, code, errOut := curl(t, statusArgs(cs, st, client)...)
	var s status
	if code != 0 {
		return s, fmt.Errorf("curl exit %d: %s", code, strings.TrimSpace(errOut))
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		return s, fmt.Errorf("status is not JSON: %v: %q", err, out)
	}
	return s, nil
}

func statusArgs(cs *certs, st *store, client string) []string {
	return apiArgs(cs, st, client, "/status")
}

// apiArgs are curl's arguments for a request to the store's API at path
// (with its query string) as client.
func apiArgs(cs *certs, st *store, client, path string) []string {
	_, port, _ := strings.Cut(st.p.addr, ":")
	args := []string{"--cacert", cs.crt("store")}
	if client != "" {
		args = append(args, "--cert", cs.crt(client), "--key", cs.key(client))
	}
	return append(args, "https://localhost:"+port+path)
}

// curl runs the real curl; tests fail without it, as CI installs it.
func curl(t *testing.T, args ...string) (stdout string, code int, stderr string) {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is not installed (.ci/run installs it)")
	}
	cmd := exec.Command("curl", append([]string{"-sS", "--max-time", "20"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("curl: %v", err)
	}
	return out.String(), cmd.ProcessState.ExitCode(), errb.String()
}

func sourceStatus(s status, name string) (collect.SourceStatus, bool) {
	for _, src := range s.Sources {
		if src.Name == name {
			return src, true
		}
	}
	return collect.SourceStatus{}, false
}

// waitFor polls cond every 200 ms until it holds or the deadline passes.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %s", what, limit, why)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// exportLines runs `store export` on a stopped store.
func exportLines(t *testing.T, b bins, dir string) [][]byte {
	t.Helper()
	cmd := exec.Command(b.store, "export", "-dir", dir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("store export: %v\n%s", err, errb.String())
	}
	return splitLines(out.Bytes())
}

func splitLines(b []byte) [][]byte {
	var lines [][]byte
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			lines = append(lines, b)
			break
		}
		lines = append(lines, b[:i])
		b = b[i+1:]
	}
	return lines
}

// chunkIDs returns the chunk ids in a supervisor's directory, oldest first.
func chunkIDs(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range entries {
		if n := e.Name(); len(n) == 12 && !strings.Contains(n, ".") {
			ids = append(ids, n)
		}
	}
	sort.Strings(ids)
	return ids
}

// canonical parses a JSON object, drops _source, and returns its source
// and the object re-marshalled with sorted keys and numbers as printed.
func canonical(line []byte) (source string, canon []byte, err error) {
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return "", nil, err
	}
	if d.More() {
		return "", nil, errors.New("trailing data")
	}
	if s, ok := m["_source"].(string); ok {
		source = s
		delete(m, "_source")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return "", nil, err
	}
	return source, bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// recordKey is a record's identity for the comparison: its source and the
// xxh3-128 of its canonical JSON.
type recordKey struct {
	source string
	hash   xxh3.Uint128
}

func keyOf(source string, canon []byte) recordKey {
	return recordKey{source, xxh3.Hash128(canon)}
}

// proxy forwards TCP connections to a backend; cut closes the listener and
// every connection, restore listens again on the same port. TLS passes
// through untouched.
type proxy struct {
	t       *testing.T
	addr    string
	backend string

	mu    sync.Mutex
	l     net.Listener
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, backend string) *proxy {
	t.Helper()
	x := &proxy{t: t, backend: backend, conns: map[net.Conn]bool{}}
	x.addr = "127.0.0.1:" + strconv.Itoa(freePort(t))
	x.restore()
	t.Cleanup(x.cut)
	return x
}

func (x *proxy) restore() {
	x.t.Helper()
	var l net.Listener
	var err error
	// The port was ours a moment ago; the kernel may take a moment to free it.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if l, err = net.Listen("tcp", x.addr); err == nil {
			break
		}
		if time.Now().After(deadline) {
			x.t.Fatalf("proxy: listen again on %s: %v", x.addr, err)
		}
	}
	x.mu.Lock()
	x.l = l
	x.mu.Unlock()
	x.wg.Add(1)
	go x.accept(l)
}

func (x *proxy) accept(l net.Listener) {
	defer x.wg.Done()
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", x.backend)
		if err != nil {
			c.Close()
			continue
		}
		x.mu.Lock()
		if x.l != l {
			x.mu.Unlock()
			c.Close()
			b.Close()
			return
		}
		x.conns[c], x.conns[b] = true, true
		x.mu.Unlock()
		x.wg.Add(2)
		go x.pipe(c, b)
		go x.pipe(b, c)
	}
}

func (x *proxy) pipe(dst, src net.Conn) {
	defer x.wg.Done()
	io.Copy(dst, src)
	dst.Close()
	src.Close()
	x.mu.Lock()
	delete(x.conns, dst)
	delete(x.conns, src)
	x.mu.Unlock()
}

// cut makes the backend unreachable: connection attempts are refused and
// open connections die.
func (x *proxy) cut() {
	x.mu.Lock()
	if x.l != nil {
		x.l.Close()
		x.l = nil
	}
	for c := range x.conns {
		c.Close()
	}
	x.mu.Unlock()
	x.wg.Wait()
}
