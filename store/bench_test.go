package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"stele/internal/collect"
	"stele/internal/ingest"
	"stele/internal/mtls"
	"stele/internal/sources"
)

// The store's benchmarks run real binaries: supervisors around eventgen, and
// the store itself or its pipeline in-process (collect + ingest), on
// loopback with real TLS. Names here start with bench so they stay clear of
// the end-to-end tests' rig.

// benchBinaries builds store, supervisor and eventgen for one benchmark
// (the build cache makes repeats cheap).
func benchBinaries(b *testing.B) string {
	dir := b.TempDir()
	for _, pkg := range []string{"stele/store", "stele/supervisor", "stele/internal/eventgen/cmd/eventgen"} {
		out, err := exec.Command("go", "build", "-trimpath", "-o", dir+"/", pkg).CombinedOutput()
		if err != nil {
			b.Fatalf("build %s: %v\n%s", pkg, err, out)
		}
	}
	return dir
}

// benchEnvInt reads a size from the environment, for longer runs.
func benchEnvInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

type benchCert struct {
	crt, key string
	fp       mtls.Fingerprint
}

func benchCertFor(b *testing.B, dir, name string) benchCert {
	prefix := filepath.Join(dir, name)
	fp, err := mtls.WriteCert(prefix, mtls.CertOptions{Name: name, Hosts: []string{"127.0.0.1", "localhost"}})
	if err != nil {
		b.Fatal(err)
	}
	return benchCert{prefix + ".crt", prefix + ".key", fp}
}

// benchSupervisor is a running supervisor whose child printed n events (and
// then sleeps, so the supervisor keeps serving).
type benchSupervisor struct {
	name, addr, dir string
	cmd             *exec.Cmd
}

// startBenchSupervisors starts count supervisors, each running a child
// that prints n generated events as fast as it can (rate 0) or at rate a
// second, and waits until they listen.
func startBenchSupervisors(b *testing.B, bin, dir string, count, n, rate int, srvCert, client benchCert) []*benchSupervisor {
	allow := filepath.Join(dir, "sup-allow")
	if err := os.WriteFile(allow, []byte(client.fp.String()+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	var sups []*benchSupervisor
	for i := range count {
		s := &benchSupervisor{name: fmt.Sprintf("sup%d", i), dir: filepath.Join(dir, fmt.Sprintf("log%d", i))}
		child := fmt.Sprintf("%s/eventgen -n %d -seed %d -rate %d; touch %s.done; exec sleep 100000", bin, n, i+1, rate, s.dir)
		s.cmd = exec.Command(bin+"/supervisor", "-dir", s.dir, "-max-bytes", "50GB", "-listen", "127.0.0.1:0",
			"-tls-cert", srvCert.crt, "-tls-key", srvCert.key, "-allow", allow, "-restart", "never",
			"--", "sh", "-c", child)
		stderr, err := s.cmd.StderrPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := s.cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			s.cmd.Process.Signal(syscall.SIGTERM)
			s.cmd.Wait()
		})
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), "serving https://"); ok {
				s.addr, _, _ = strings.Cut(rest, "/")
				break
			}
		}
		go io.Copy(io.Discard, stderr)
		if s.addr == "" {
			b.Fatalf("supervisor %d did not start", i)
		}
		sups = append(sups, s)
	}
	return sups
}

// benchLogLines counts the lines of every chunk of a supervisor's log.
func benchLogLines(b *testing.B, dir string) int64 {
	ents, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, e := range ents {
		if strings.Contains(e.Name(), ".") || e.Name() == "lock" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		for _, c := range data {
			if c == '\n' {
				n++
			}
		}
	}
	return n
}

// benchWaitWritten waits until every supervisor's child has printed its
// events and the supervisor has written them (the line count holds still),
// and returns how many lines the logs hold. A supervisor drops lines with a
// counted event when its disk cannot keep up with an unpaced child; the
// store is measured against what the logs hold.
func benchWaitWritten(b *testing.B, sups []*benchSupervisor) int64 {
	deadline := time.Now().Add(30 * time.Minute)
	for _, s := range sups {
		for {
			if _, err := os.Stat(s.dir + ".done"); err == nil {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s: child did not finish", s.name)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	var last int64 = -1
	for {
		var n int64
		for _, s := range sups {
			n += benchLogLines(b, s.dir)
		}
		if n == last {
			return n
		}
		last = n
		time.Sleep(time.Second)
	}
}

// procCPU returns the user+system CPU time of process pid so far, and its
// peak RSS in bytes.
func procCPU(b *testing.B, pid int) (time.Duration, int64) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	cpu := time.Duration(ut+st) * time.Second / 100 // USER_HZ
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	var hwm int64
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			hwm = kb << 10
		}
	}
	return cpu, hwm
}

// BenchmarkIngestFromSupervisors runs the store binary against three
// supervisors that already hold STELE_BENCH_EVENTS generated events each
// (default 300k, printed at STELE_BENCH_RATE a second each, default 100k;
// STELE_BENCH_EVENTS=3400000 gives the 10M), and reports the store's
// ingest rate per core of its CPU time, its peak RSS, how many segments
// it read to rebuild de-duplication partitions (dedup-rebuilds, /status),
// and, as the baseline in the same run, the events per CPU second of curl
// fetching the same chunks (x-curl-cpu = store CPU / curl CPU).
//
//	go test -run '^$' -bench IngestFromSupervisors -benchtime 1x -count 3 ./store
func BenchmarkIngestFromSupervisors(b *testing.B) {
	bin := benchBinaries(b)
	n := benchEnvInt("STELE_BENCH_EVENTS", 300_000)
	rate := benchEnvInt("STELE_BENCH_RATE", 100_000)
	for b.Loop() {
		dir := b.TempDir()
		srvCert := benchCertFor(b, dir, "supervisor")
		client := benchCertFor(b, dir, "store")
		sups := startBenchSupervisors(b, bin, dir, 3, n, rate, srvCert, client)
		want := benchWaitWritten(b, sups)
		// Baseline: curl fetches every chunk of every supervisor once.
		curlCPU := benchCurlAll(b, sups, srvCert, client)

		var srcLines strings.Builder
		for _, s := range sups {
			fmt.Fprintf(&srcLines, "%s https://%s %s\n", s.name, s.addr, srvCert.fp)
		}
		srcFile := filepath.Join(dir, "sources")
		os.WriteFile(srcFile, []byte(srcLines.String()), 0o600)
		allow := filepath.Join(dir, "store-allow")
		os.WriteFile(allow, []byte(client.fp.String()+"\n"), 0o600)
		port := benchFreePort(b)
		store := exec.Command(bin+"/store", "-dir", filepath.Join(dir, "store"), "-sources", srcFile,
			"-tls-cert", client.crt, "-tls-key", client.key, "-listen", "127.0.0.1:"+port, "-allow", allow)
		store.Stderr = io.Discard
		start := time.Now()
		if err := store.Start(); err != nil {
			b.Fatal(err)
		}
		hc := benchHTTPClient(b, client)
		var got, rebuilds int64
		for time.Since(start) < 20*time.Minute {
			time.Sleep(50 * time.Millisecond)
			st, err := benchStatus(hc, port)
			if err != nil {
				continue
			}
			got, rebuilds = 0, st.Storage.DedupRebuilds
			for _, s := range st.Sources {
				got += s.LinesNew
			}
			if got >= want {
				break
			}
		}
		wall := time.Since(start)
		cpu, rss := procCPU(b, store.Process.Pid)
		store.Process.Signal(syscall.SIGTERM)
		store.Wait()
		if got < want {
			b.Fatalf("store has %d of %d lines", got, want)
		}
		b.ReportMetric(float64(want)/wall.Seconds(), "events/s")
		b.ReportMetric(float64(want)/cpu.Seconds(), "events/cpu-s")
		b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MB")
		b.ReportMetric(cpu.Seconds()/curlCPU.Seconds(), "x-curl-cpu")
		b.ReportMetric(float64(want)/curlCPU.Seconds(), "curl-events/cpu-s")
		b.ReportMetric(float64(rebuilds), "dedup-rebuilds")
	}
}

// benchCurlAll fetches every chunk of every supervisor with one curl per
// supervisor and returns curl's CPU time.
func benchCurlAll(b *testing.B, sups []*benchSupervisor, srvCert, client benchCert) time.Duration {
	var cpu time.Duration
	for _, s := range sups {
		args := []string{"--silent", "--show-error", "--fail", "--cacert", srvCert.crt, "--cert", client.crt, "--key", client.key}
		out, err := exec.Command("curl", append(args, "https://"+s.addr+"/chunk/")...).Output()
		if err != nil {
			b.Fatalf("curl list: %v", err)
		}
		ids := strings.Fields(string(out))
		ids = ids[:len(ids)-1] // the latest streams until it closes
		for _, id := range ids {
			args = append(args, "-o", "/dev/null", "https://"+s.addr+"/chunk/"+id)
		}
		c := exec.Command("curl", args...)
		if err := c.Run(); err != nil {
			b.Fatalf("curl: %v", err)
		}
		cpu += c.ProcessState.UserTime() + c.ProcessState.SystemTime()
	}
	return cpu
}

func benchFreePort(b *testing.B) string {
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	_, port, _ := strings.Cut(l.Addr().String(), ":")
	return port
}

func benchHTTPClient(b *testing.B, client benchCert) *http.Client {
	cert, err := tls.LoadX509KeyPair(client.crt, client.key)
	if err != nil {
		b.Fatal(err)
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates:       []tls.Certificate{cert},
		InsecureSkipVerify: true, // the benchmark's own server on loopback
		MinVersion:         tls.VersionTLS13,
	}}}
}

type benchStatusBody struct {
	Sources []collect.SourceStatus `json:"sources"`
	Storage storageStatus          `json:"storage"`
}

func benchStatus(hc *http.Client, port string) (benchStatusBody, error) {
	var st benchStatusBody
	resp, err := hc.Get("https://127.0.0.1:" + port + "/status")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// BenchmarkFreshness runs a supervisor around a child printing 5k events a
// second stamped with the wall clock, and the store's pipeline (collect +
// ingest, as the store binary wires them) in this process; it polls the
// memtable every 5 ms and reports the delay from each event's time_ns to
// its first sighting: p50 and p99 (target p99 ≤ 1 s).
//
//	go test -run '^$' -bench Freshness -benchtime 1x -count 3 ./store
func BenchmarkFreshness(b *testing.B) {
	bin := benchBinaries(b)
	seconds := benchEnvInt("STELE_BENCH_SECONDS", 10)
	for b.Loop() {
		dir := b.TempDir()
		srvCert := benchCertFor(b, dir, "supervisor")
		client := benchCertFor(b, dir, "store")
		sups := startBenchSupervisors(b, bin, dir, 1, 5000*seconds, 5000, srvCert, client)
		st, _, err := ingest.Open(ingest.Options{Dir: filepath.Join(dir, "store"), DedupBudget: 1 << 20, MemoryBytes: 1 << 30})
		if err != nil {
			b.Fatal(err)
		}
		cert, err := tls.LoadX509KeyPair(client.crt, client.key)
		if err != nil {
			b.Fatal(err)
		}
		coll := collect.New(collect.Options{Cert: cert, Store: st})
		coll.SetSources([]sources.Source{{Name: "sup0", URL: "https://" + sups[0].addr, Fingerprint: srvCert.fp}})
		var delays []time.Duration
		seen := 0
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds)*time.Second)
		for ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
			now := time.Now().UnixNano()
			i := 0
			st.Scan(func(r ingest.Record) bool {
				if i >= seen && r.Source == "sup0" {
					delays = append(delays, time.Duration(now-r.TimeNS))
				}
				i++
				return true
			})
			seen = i
		}
		cancel()
		coll.Close()
		st.Close()
		if len(delays) < 1000 {
			b.Fatalf("only %d events seen", len(delays))
		}
		slices.Sort(delays)
		b.ReportMetric(float64(len(delays)), "events")
		b.ReportMetric(float64(delays[len(delays)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(delays[len(delays)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// BenchmarkIngestInProcess is BenchmarkIngestFromSupervisors with the
// store's pipeline in this process (collect, ingest, flushes as the store
// does them), so that -cpuprofile shows where its time goes.
//
//	go test -run '^$' -bench IngestInProcess -benchtime 1x -cpuprofile cpu.out ./store
func BenchmarkIngestInProcess(b *testing.B) {
	bin := benchBinaries(b)
	n := benchEnvInt("STELE_BENCH_EVENTS", 300_000)
	dir := b.TempDir()
	srvCert := benchCertFor(b, dir, "supervisor")
	client := benchCertFor(b, dir, "store")
	sups := startBenchSupervisors(b, bin, dir, 3, n, benchEnvInt("STELE_BENCH_RATE", 100_000), srvCert, client)
	want := benchWaitWritten(b, sups)
	cert, err := tls.LoadX509KeyPair(client.crt, client.key)
	if err != nil {
		b.Fatal(err)
	}
	cpu0 := benchSelfCPU(b)
	for b.Loop() {
		st, _, err := ingest.Open(ingest.Options{Dir: b.TempDir(), DedupBudget: dedupBudget, MemoryBytes: defaultMemory})
		if err != nil {
			b.Fatal(err)
		}
		coll := collect.New(collect.Options{Cert: cert, Store: st})
		var srcs []sources.Source
		for _, s := range sups {
			srcs = append(srcs, sources.Source{Name: s.name, URL: "https://" + s.addr, Fingerprint: srvCert.fp})
		}
		coll.SetSources(srcs)
		for {
			time.Sleep(20 * time.Millisecond)
			if st.MemBytes() >= defaultMemory/2 {
				if _, err := st.Flush(); err != nil {
					b.Fatal(err)
				}
			}
			var got int64
			for _, s := range coll.Status() {
				got += s.LinesNew
			}
			if got >= want {
				break
			}
		}
		coll.Close()
		st.Close()
	}
	cpu := benchSelfCPU(b) - cpu0
	b.ReportMetric(float64(want)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(want)*float64(b.N)/cpu.Seconds(), "events/cpu-s")
}

// benchSelfCPU returns the CPU time this process has used, user and
// system, without its children (the supervisors).
func benchSelfCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
