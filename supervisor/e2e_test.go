package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the supervised program: with STELE_TEST_CHILD
// set, TestMain runs one of the child behaviours below instead of tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv("STELE_TEST_CHILD"); mode != "" {
		os.Exit(childMain(mode))
	}
	os.Exit(m.Run())
}

func childMain(mode string) int {
	w := bufio.NewWriter(os.Stdout)
	switch mode {
	case "mixed":
		// N events mixed with malformed lines, a 200 KB event, a 2 MB line,
		// stderr lines and an unterminated last line.
		n, _ := strconv.Atoi(os.Getenv("N"))
		for i := range n {
			fmt.Fprintf(w, `{"time_ns":%d,"seq":%d,"msg":"event %d"}`+"\n", 1_000_000+i, i, i)
			switch i % 97 {
			case 3:
				fmt.Fprintf(w, "plain text line %d\n", i)
			case 5:
				fmt.Fprintf(w, `{"seq":%d,"truncated":`+"\n", i)
			case 7:
				w.Flush()
				fmt.Fprintf(os.Stderr, "stderr line %d\n", i)
			}
			if i == n/3 {
				fmt.Fprintf(w, `{"time_ns":5,"big":"%s"}`+"\n", strings.Repeat("b", 200_000))
			}
			if i == n/2 {
				w.WriteString(strings.Repeat("L", 2_000_000) + "\n")
			}
		}
		w.WriteString(`{"time_ns":9,"last":"unterminated"}`)
		w.Flush()
		return 0
	case "one":
		fmt.Fprintf(w, `{"time_ns":1,"which":"%s"}`+"\n", os.Getenv("RUN"))
		w.Flush()
		return 0
	case "gocopy":
		// The floor of BenchmarkCPUAt10k: the least a Go program does to move
		// a pipe to a file, one goroutine reading and writing.
		f, err := os.Create(os.Getenv("OUT"))
		if err != nil {
			return 1
		}
		buf := make([]byte, 256<<10)
		for {
			n, err := os.Stdin.Read(buf)
			if _, werr := f.Write(buf[:n]); werr != nil {
				return 1
			}
			if err != nil {
				return 0
			}
		}
	case "stream":
		// Writes numbered events with the wall-clock time of each write until
		// killed, flushing every line so each is in the pipe at time_ns.
		run := os.Getenv("RUN")
		for i := 0; ; i++ {
			fmt.Fprintf(w, `{"time_ns":%d,"which":"%s","seq":%d}`+"\n", time.Now().UnixNano(), run, i)
			w.Flush()
			if i%10 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	case "serve":
		// Runs until SIGTERM, then exits 0, like a well-behaved server.
		sigs := make(chan os.Signal, 1)
		signalNotify(sigs, syscall.SIGTERM)
		fmt.Fprintf(w, `{"time_ns":1,"ready":1,"child_pid":%d}`+"\n", os.Getpid())
		w.Flush()
		<-sigs
		fmt.Fprintln(w, `{"time_ns":2,"stopping":1}`)
		w.Flush()
		return 0
	case "term":
		// Ignores SIGTERM for a while, then exits 0 on a second thought.
		signalIgnore(syscall.SIGTERM)
		fmt.Fprintln(w, `{"time_ns":1,"ready":1}`)
		w.Flush()
		for {
			time.Sleep(time.Second)
		}
	}
	if f := extraChildModes[mode]; f != nil {
		return f(w)
	}
	return 99
}

// extraChildModes are child behaviours defined by other test files.
var extraChildModes = map[string]func(w *bufio.Writer) int{}

var supervisorBin string

// buildSupervisor builds the real binary once per test process.
func buildSupervisor(t *testing.T) string {
	t.Helper()
	if supervisorBin != "" {
		return supervisorBin
	}
	dir, err := os.MkdirTemp("", "stele-sup-bin")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "supervisor")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	supervisorBin = bin
	return bin
}

// superviseSelf returns a command running the supervisor around this test
// binary in the given child mode.
func superviseSelf(t *testing.T, dir, mode string, env []string, flags ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-dir", dir}, flags...)
	args = append(args, "--", self)
	cmd := exec.Command(buildSupervisor(t), args...)
	cmd.Env = append(append(os.Environ(), "STELE_TEST_CHILD="+mode), env...)
	return cmd
}

// logLines returns every line of every chunk in dir, oldest chunk first.
func logLines(t *testing.T, dir string) [][]byte {
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
	var lines [][]byte
	for _, id := range ids {
		b, err := os.ReadFile(filepath.Join(dir, id))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 0 && b[len(b)-1] != '\n' {
			t.Fatalf("chunk %s does not end on a line boundary", id)
		}
		for _, l := range bytes.SplitAfter(b, []byte("\n")) {
			if len(l) > 0 {
				lines = append(lines, l)
			}
		}
	}
	return lines
}

func decode(t *testing.T, l []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(l, &m); err != nil {
		t.Fatalf("line is not JSON: %q", l)
	}
	return m
}

func TestEndToEndEveryLineExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	const n = 20000
	cmd := superviseSelf(t, dir, "mixed", []string{"N=" + strconv.Itoa(n)}, "-restart", "never", "-chunk-bytes", "64KB")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("supervisor: %v\n%s", err, out)
	}
	if cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("exit status %d", cmd.ProcessState.ExitCode())
	}
	lines := logLines(t, dir)
	var seqs []int
	var stderr, plain, truncated int
	var big, last bool
	var long []byte
	var splits []map[string]any
	for _, l := range lines {
		m := decode(t, l)
		switch {
		case m["_event"] == "line_split":
			splits = append(splits, m)
		case m["seq"] != nil && m["msg"] != nil:
			seqs = append(seqs, int(m["seq"].(float64)))
			want := fmt.Sprintf(`{"time_ns":%d,"seq":%d,"msg":"event %d"}`+"\n", 1_000_000+len(seqs)-1, len(seqs)-1, len(seqs)-1)
			if string(l) != want {
				t.Fatalf("event altered: %q, want %q", l, want)
			}
		case m["big"] != nil:
			if len(l) < 200_000 || big {
				t.Fatal("200 KB event cut or duplicated")
			}
			big = true
		case m["last"] != nil:
			last = string(l) == `{"time_ns":9,"last":"unterminated"}`+"\n"
		case m["_stream"] == "stderr":
			stderr++
		case m["_part"] != nil:
			long = append(long, m["_line"].(string)...)
		case m["_line"] != nil:
			s := m["_line"].(string)
			if strings.HasPrefix(s, "plain text line") {
				plain++
			} else if strings.Contains(s, "truncated") {
				truncated++
			}
		}
	}
	if len(seqs) != n {
		t.Fatalf("%d events in the log, want %d", len(seqs), n)
	}
	wantOdd := 0
	for i := range n {
		if i%97 == 3 {
			wantOdd++
		}
	}
	if plain != wantOdd || truncated != wantOdd-boolInt(n%97 == 4) && truncated != wantOdd {
		t.Errorf("plain %d, truncated %d, want %d each", plain, truncated, wantOdd)
	}
	if stderr != wantOdd {
		t.Errorf("%d stderr lines, want %d", stderr, wantOdd)
	}
	if !big {
		t.Error("200 KB event missing")
	}
	if string(long) != strings.Repeat("L", 2_000_000) {
		t.Errorf("2 MB line rebuilt to %d bytes", len(long))
	}
	if !last {
		t.Error("unterminated last line missing or altered")
	}
	if len(splits) != 1 || splits[0]["bytes"] != float64(2_000_000) || splits[0]["parts"].(float64) < 2_000_000/(64<<10) {
		t.Errorf("line_split events: %v, want one for the 2 MB line", splits)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestOneLineChildThousandTimes(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	const runs, dirs = 1000, 4
	base := t.TempDir()
	errc := make(chan error, dirs)
	bin := buildSupervisor(t)
	for d := range dirs {
		go func() {
			dir := filepath.Join(base, strconv.Itoa(d))
			for r := d; r < runs; r += dirs {
				cmd := exec.Command(bin, "-dir", dir, "-restart", "never", "--",
					"/bin/sh", "-c", `echo '{"time_ns":1,"which":"`+strconv.Itoa(r)+`"}'`)
				if out, err := cmd.CombinedOutput(); err != nil {
					errc <- fmt.Errorf("run %d: %v\n%s", r, err, out)
					return
				}
			}
			errc <- nil
		}()
	}
	for range dirs {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]int{}
	for d := range dirs {
		for _, l := range logLines(t, filepath.Join(base, strconv.Itoa(d))) {
			if m := decode(t, l); m["which"] != nil {
				seen[m["which"].(string)]++
			}
		}
	}
	for r := range runs {
		if seen[strconv.Itoa(r)] != 1 {
			t.Fatalf("run %d captured %d times", r, seen[strconv.Itoa(r)])
		}
	}
}

func TestKillNineLosesNothingRead(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 7))
	const kills = 50
	killedAt := make([]int64, kills)
	var lastIDs []string
	for k := range kills {
		cmd := superviseSelf(t, dir, "stream", []string{"RUN=" + strconv.Itoa(k)}, "-restart", "never")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill while the child writes: once its first line is in the log,
		// at a random moment up to 300 ms later.
		for deadline := time.Now().Add(30 * time.Second); !logHas(t, dir, `"which":"`+strconv.Itoa(k)+`"`); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("kill %d: the child never wrote", k)
			}
		}
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		killedAt[k] = time.Now().UnixNano()
		cmd.Process.Kill()
		cmd.Wait()
		ids := chunkIDsIn(t, dir)
		// A supervisor killed before it opened the log adds no chunk, but
		// ids never go backwards.
		if len(lastIDs) > 0 && len(ids) > 0 && ids[len(ids)-1] < lastIDs[len(lastIDs)-1] {
			t.Fatalf("kill %d: newest id %s before %s", k, ids[len(ids)-1], lastIDs[len(lastIDs)-1])
		}

		lastIDs = ids
	}
	// A last clean run recovers what the kills left.
	cmd := superviseSelf(t, dir, "one", []string{"RUN=final"}, "-restart", "never")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	perRun := make([]map[int]int64, kills)
	for i := range perRun {
		perRun[i] = map[int]int64{}
	}
	for _, l := range logLines(t, dir) {
		m := decode(t, l)
		if m["seq"] == nil {
			continue
		}
		run, _ := strconv.Atoi(m["which"].(string))
		seq := int(m["seq"].(float64))
		if _, dup := perRun[run][seq]; dup {
			t.Fatalf("run %d seq %d twice", run, seq)
		}
		perRun[run][seq] = int64(m["time_ns"].(float64))
	}
	checked := 0
	for run, seqs := range perRun {
		// Every seq up to the last one present is there (no holes), and the
		// first missing one was written less than 100 ms before the kill.
		n := len(seqs)
		for s := range n {
			if _, ok := seqs[s]; !ok {
				t.Fatalf("run %d: seq %d missing of %d", run, s, n)
			}
		}
		if n > 0 {
			checked++
			lastWrite := seqs[n-1]
			if killedAt[run]-lastWrite > int64(100*time.Millisecond) {
				t.Errorf("run %d: last kept event written %v before the kill: later events were lost", run, time.Duration(killedAt[run]-lastWrite))
			}
		}
	}
	if checked != kills {
		t.Fatalf("only %d of %d runs are in the log", checked, kills)
	}
}

func chunkIDsIn(t *testing.T, dir string) []string {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var ids []string
	for _, e := range entries {
		if n := e.Name(); len(n) == 12 && !strings.Contains(n, ".") {
			ids = append(ids, n)
		}
	}
	sort.Strings(ids)
	return ids
}

func TestSIGTERMStopsTheChildWithinStopTimeout(t *testing.T) {
	dir := t.TempDir()
	cmd := superviseSelf(t, dir, "term", nil, "-restart", "always", "-stop-timeout", "300ms")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the child to be running: its line is in the log.
	deadline := time.Now().Add(30 * time.Second)
	for !logHas(t, dir, `"ready":1`) {
		if time.Now().After(deadline) {
			t.Fatal("child never became ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	status := cmd.ProcessState.ExitCode()
	if ee, ok := err.(*exec.ExitError); ok {
		status = ee.ExitCode()
	}
	if status != 128+int(syscall.SIGKILL) {
		t.Fatalf("exit status %d, want %d (child killed after the stop timeout)", status, 128+int(syscall.SIGKILL))
	}
	var killed, exited, closed bool
	for _, l := range logLines(t, dir) {
		m := decode(t, l)
		switch m["_event"] {
		case "child_killed":
			killed = true
		case "child_exited":
			exited = m["signal"] == "SIGKILL"
		case "chunk_closed":
			closed = m["reason"] == "shutdown"
		}
	}
	if !killed || !exited || !closed {
		t.Fatalf("log incomplete: killed=%v exited=%v closed=%v", killed, exited, closed)
	}
	for _, id := range chunkIDsIn(t, dir) {
		if _, err := os.Stat(filepath.Join(dir, id+".sum")); err != nil {
			t.Fatalf("chunk %s not closed after a clean stop", id)
		}
	}
}

func logHas(t *testing.T, dir, s string) bool {
	for _, id := range chunkIDsIn(t, dir) {
		b, _ := os.ReadFile(filepath.Join(dir, id))
		if bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}

func TestBadCommandLines(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--", "true"}, "-dir is required"},
		{[]string{"-dir", t.TempDir()}, "no program given"},
		{[]string{"-dir", t.TempDir(), "-restart", "sometimes", "--", "true"}, "unknown restart policy"},
		{[]string{"-dir", t.TempDir(), "-chunk-bytes", "2MB", "--", "true"}, "-chunk-bytes must be"},
		{[]string{"-dir", t.TempDir(), "-max-bytes", "lots", "--", "true"}, "invalid value"},
	}
	for _, tt := range tests {
		cmd := exec.Command(buildSupervisor(t), tt.args...)
		out, err := cmd.CombinedOutput()
		if err == nil || cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), tt.want) {
			t.Errorf("%v: status %d, output %q; want status 2 and %q", tt.args, cmd.ProcessState.ExitCode(), out, tt.want)
		}
	}
}

func TestChildDiesWithAKilledSupervisor(t *testing.T) {
	dir := t.TempDir()
	cmd := superviseSelf(t, dir, "serve", nil, "-restart", "always")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !logHas(t, dir, `"ready":1`) {
		if time.Now().After(deadline) {
			t.Fatal("child never became ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var pid int
	for _, l := range logLines(t, dir) {
		if m := decode(t, l); m["child_pid"] != nil {
			pid = int(m["child_pid"].(float64))
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	for !processGone(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("child %d outlived the killed supervisor", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// processGone reports whether pid has exited (gone, or a zombie).
func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && b[i+2] == 'Z'
}

func TestResourceUseIsRecorded(t *testing.T) {
	dir := t.TempDir()
	cmd := superviseSelf(t, dir, "serve", nil, "-restart", "never", "-stats-interval", "100ms")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !logHas(t, dir, `"_event":"child_resources"`) || !logHas(t, dir, `"_event":"capture_stats"`) {
		if time.Now().After(deadline) {
			t.Fatal("no child_resources and capture_stats events")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var pid float64
	for _, l := range logLines(t, dir) {
		m := decode(t, l)
		switch m["_event"] {
		case "child_started":
			pid = m["pid"].(float64)
		case "child_resources":
			if m["pid"] != pid || m["rss_bytes"].(float64) <= 0 || m["threads"].(float64) < 1 || m["open_files"].(float64) < 3 {
				t.Fatalf("implausible resource event %v (child pid %v)", m, pid)
			}
			return
		}
	}
}
