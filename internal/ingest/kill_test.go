package ingest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"stele/internal/leakcheck"
)

const (
	killSources = 2
	killLines   = 20_000
)

// TestKillChild is the child of TestKill9: it accepts runs of one chunk per
// source, continuing from the checkpoints, and prints each acknowledged
// offset, until it is killed.
func TestKillChild(t *testing.T) {
	dir := os.Getenv("STELE_INGEST_KILL_DIR")
	if dir == "" {
		t.Skip("child of TestKill9")
	}
	s, _, err := Open(Options{Dir: dir, DedupBudget: 1 << 20, MemoryBytes: 1 << 30})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	data := evs(0, killLines)
	// Flushes run alongside, so kills land in them too.
	go func() {
		for {
			if _, err := s.Flush(); err != nil {
				fmt.Println("error", err)
			}
		}
	}()
	var mu sync.Mutex // one ack per write
	var wg sync.WaitGroup
	for i := range killSources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := fmt.Sprintf("s%d", i)
			off, _ := s.Checkpoint(src, "1")
			for n := 1; off < int64(len(data)); n++ {
				end := off
				for k := 1 + n%13; k > 0 && end < int64(len(data)); k-- {
					end += int64(strings.IndexByte(string(data[end:min(end+100, int64(len(data)))]), '\n') + 1)
				}
				// Start one line early now and then: overlap is skipped.
				start := off
				if n%3 == 0 && off > 0 {
					start = int64(strings.LastIndexByte(string(data[:off-1]), '\n') + 1)
				}
				if _, err := s.Accept(src, "1", start, end, data[start:end], false); err != nil {
					mu.Lock()
					fmt.Println("error", err)
					mu.Unlock()
					return
				}
				mu.Lock()
				fmt.Printf("ack %s %d\n", src, end)
				mu.Unlock()
				off = end
			}
		}()
	}
	wg.Wait()
	os.Exit(0)
}

// TestKill9 kills a child store with SIGKILL while it accepts, several times,
// and checks after each that every offset it acknowledged is covered and
// every line is stored once.
func TestKill9(t *testing.T) {
	leakcheck.Check(t)
	if testing.Short() {
		t.Skip("runs child processes")
	}
	dir := t.TempDir()
	data := evs(0, killLines)
	acked := map[string]int64{}
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "STELE_INGEST_KILL_DIR="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		n := 0
		for sc.Scan() {
			var src string
			var off int64
			if _, err := fmt.Sscanf(sc.Text(), "ack %s %d", &src, &off); err != nil {
				continue // the test framework's own output, or an error line
			}
			acked[src] = max(acked[src], off)
			if n++; n == 150 {
				cmd.Process.Kill() // SIGKILL; acks already in the pipe still count
			}
		}
		cmd.Wait()
		if n < 150 {
			t.Fatalf("round %d: child acknowledged only %d runs", round, n)
		}

		s, rep := open(t, Options{Dir: dir})
		if rep.Corrupt != "" || rep.Dups != 0 {
			t.Fatalf("round %d: replay %+v", round, rep)
		}
		var exp []string
		for i := range killSources {
			src := fmt.Sprintf("s%d", i)
			cp, _ := s.Checkpoint(src, "1")
			if cp < acked[src] {
				t.Fatalf("round %d: %s checkpoint %d, but %d was acknowledged", round, src, cp, acked[src])
			}
			exp = append(exp, want(src, data[:cp])...)
		}
		checkOnce(t, s, exp)
		s.Close()
	}
}
