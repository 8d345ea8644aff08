package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zeebo/xxh3"
)

// followChunks follows chunk from and then each next chunk as the previous
// one closes, until ctx ends (nil) or something fails. onLine sees each
// line as it arrives; onChunk each chunk received whole.
func followChunks(ctx context.Context, c *http.Client, s *httpSup, from string, onLine func([]byte), onChunk func(id string, data []byte)) error {
	id := from
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.url("/chunk/"+id), nil)
		resp, err := c.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("follow %s: %w", id, err)
		}
		if resp.StatusCode != 200 {
			resp.Body.Close()
			return fmt.Errorf("follow %s: status %d", id, resp.StatusCode)
		}
		r := bufio.NewReaderSize(resp.Body, 64<<10)
		var data []byte
		for {
			l, err := r.ReadSlice('\n')
			if len(l) > 0 {
				data = append(data, l...)
				if onLine != nil {
					onLine(l)
				}
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				resp.Body.Close()
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("follow %s: %w", id, err)
			}
		}
		resp.Body.Close()
		if onChunk != nil {
			onChunk(id, data)
		}
		next, err := nextID(ctx, c, s, id)
		if err != nil || next == "" {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("after %s: %v", id, err)
		}
		id = next
	}
}

// nextID returns the first chunk id after id in the listing.
func nextID(ctx context.Context, c *http.Client, s *httpSup, id string) (string, error) {
	ids, err := listIDs(ctx, c, s)
	if err != nil {
		return "", err
	}
	i := sort.SearchStrings(ids, id+"\x00")
	if i == len(ids) {
		return "", errors.New("no chunk after " + id)
	}
	return ids[i], nil
}

func listIDs(ctx context.Context, c *http.Client, s *httpSup) ([]string, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", s.url("/chunk/"), nil)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		return nil, fmt.Errorf("listing: %d %v", resp.StatusCode, err)
	}
	return strings.Fields(string(b)), nil
}

// rssKB reads a process's resident set size.
func rssKB(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// TestHTTPLoad: the child at 20k events/s, 100 followers of the latest
// chunks and 10 clients re-fetching closed chunks for 60 s: no errors,
// every follower's bytes equal the chunk files, RSS reported. Under the
// race detector it runs scaled down.
func TestHTTPLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("60 s load test")
	}
	rate, followers, fetchers, duration := 20_000, 100, 10, 60*time.Second
	if raceEnabled {
		rate, followers, fetchers, duration = 5_000, 20, 2, 15*time.Second
	}
	cs := newCertSet(t, "server", "alice")
	cs.allow("alice")
	s := startHTTPSup(t, cs, "paced", []string{"RATE=" + strconv.Itoa(rate)})
	pid := s.cmd.Process.Pid
	tr := &http.Transport{TLSClientConfig: cs.tlsConfig("alice"), DisableCompression: true, MaxIdleConnsPerHost: followers + fetchers}
	c := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	start := s.latestID(c)

	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, followers+fetchers)
	got := make([]map[string][32]byte, followers)
	var delayMu sync.Mutex
	var delays []time.Duration // of every 100th line of each follower
	for f := range followers {
		got[f] = map[string][32]byte{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			sample := func(l []byte) {
				if n++; n%100 != 0 {
					return
				}
				if d, ok := lineDelay(l); ok {
					delayMu.Lock()
					delays = append(delays, d)
					delayMu.Unlock()
				}
			}
			if err := followChunks(ctx, c, s, start, sample, func(id string, data []byte) { got[f][id] = sha256.Sum256(data) }); err != nil {
				errs <- fmt.Errorf("follower %d: %w", f, err)
			}
		}()
	}
	var fetched, fetchedBytes atomic.Int64
	for range fetchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				ids, err := listIDs(ctx, c, s)
				if err != nil || len(ids) < 2 {
					if ctx.Err() == nil && err != nil {
						errs <- err
						return
					}
					continue
				}
				id := ids[i%(len(ids)-1)] // closed chunks only
				req, _ := http.NewRequestWithContext(ctx, "GET", s.url("/chunk/"+id), nil)
				resp, err := c.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						errs <- fmt.Errorf("fetch %s: %w", id, err)
					}
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if ctx.Err() != nil {
					return
				}
				sum := xxh3.Hash128(b).Bytes()
				if err != nil || resp.StatusCode != 200 || resp.Header.Get("ETag") != `"`+hex.EncodeToString(sum[:])+`"` || resp.ContentLength != int64(len(b)) {
					errs <- fmt.Errorf("fetch %s: %d %v, ETag %s", id, resp.StatusCode, err, resp.Header.Get("ETag"))
					return
				}
				fetched.Add(1)
				fetchedBytes.Add(int64(len(b)))
			}
		}()
	}
	var maxRSS int64
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
sample:
	for {
		select {
		case <-ctx.Done():
			break sample
		case <-tick.C:
			maxRSS = max(maxRSS, rssKB(pid))
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s.stop()

	// Every chunk a follower received whole equals the file on disk.
	var chunks, events int
	var dropped int64
	for _, l := range logLines(t, s.dir) {
		if bytes.Contains(l, []byte(`"seq":`)) {
			events++
		} else if bytes.Contains(l, []byte(`"_event":"events_dropped"`)) {
			dropped += int64(decode(t, l)["count"].(float64))
		}
	}
	files := map[string][32]byte{}
	for _, id := range chunkIDsIn(t, s.dir) {
		b, err := os.ReadFile(filepath.Join(s.dir, id))
		if err != nil {
			t.Fatal(err)
		}
		files[id] = sha256.Sum256(b)
	}
	minChunks := -1
	for f, m := range got {
		for id, sum := range m {
			if files[id] != sum {
				t.Fatalf("follower %d: chunk %s differs from the file", f, id)
			}
		}
		if minChunks < 0 || len(m) < minChunks {
			minChunks = len(m)
		}
		chunks += len(m)
	}
	if minChunks < 2 {
		t.Errorf("a follower received only %d whole chunks", minChunks)
	}
	t.Logf("%d followers, %d fetchers, %v at %d events/s asked: %d events logged (%.0f/s), %d dropped", followers, fetchers, duration, rate, events, float64(events)/duration.Seconds(), dropped)
	t.Logf("followers received %d whole chunks (at least %d each), all equal to the files", chunks, minChunks)
	t.Logf("fetchers: %d closed chunks, %.1f MB/s", fetched.Load(), float64(fetchedBytes.Load())/1e6/duration.Seconds())
	t.Logf("supervisor max RSS: %.1f MB", float64(maxRSS)/1024)
	if len(delays) > 0 {
		slices.Sort(delays)
		t.Logf("write-to-follower delay over %d sampled lines: p50 %v, p99 %v, max %v", len(delays), delays[len(delays)/2], delays[len(delays)*99/100], delays[len(delays)-1])
	}
}

// lineDelay returns how long ago a paced child wrote line l.
func lineDelay(l []byte) (time.Duration, bool) {
	now := time.Now().UnixNano()
	if !bytes.Contains(l, []byte(`"seq":`)) {
		return 0, false
	}
	_, rest, _ := bytes.Cut(l, []byte(`"time_ns":`))
	n, _, _ := bytes.Cut(rest, []byte(","))
	ts, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(now - ts), true
}

// BenchmarkHTTPFollowDelay measures the delay from the child's write of a
// line to a follower reading it, through the real supervisor: p50 and p99
// in ms (target p99 ≤ 50 ms). One op is 1000 lines, at 1000 lines/s.
func BenchmarkHTTPFollowDelay(b *testing.B) {
	cs := newCertSet(b, "server", "alice")
	cs.allow("alice")
	s := startHTTPSup(b, cs, "paced", []string{"RATE=1000"})
	tr := &http.Transport{TLSClientConfig: cs.tlsConfig("alice"), DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	want := 1000 * b.N
	var delays []time.Duration
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	b.ResetTimer()
	go func() {
		done <- followChunks(ctx, c, s, s.latestID(c), func(l []byte) {
			d, ok := lineDelay(l)
			if !ok || len(delays) >= want {
				return
			}
			delays = append(delays, d)
			if len(delays) == want {
				cancel()
			}
		}, nil)
	}()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if len(delays) < want {
		b.Fatalf("%d lines of %d", len(delays), want)
	}
	slices.Sort(delays)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(delays[len(delays)/2]), "p50_ms")
	b.ReportMetric(ms(delays[len(delays)*99/100]), "p99_ms")
	b.ReportMetric(ms(delays[len(delays)-1]), "max_ms")
}
