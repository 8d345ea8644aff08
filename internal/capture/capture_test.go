package capture

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var fixedNow = time.Unix(1_700_000_000, 123).UTC()

func now() time.Time { return fixedNow }

// capture runs a Reader over input in reads of the given sizes.
func capture(t *testing.T, stream string, input []byte, readSize int) (out []byte, counts *Counts) {
	t.Helper()
	buf := NewBuffer(1 << 30)
	counts = &Counts{}
	r := NewReader(stream, buf, now, counts, nil)
	if err := r.Run(&chunkedReader{data: input, n: readSize}); err != nil {
		t.Fatal(err)
	}
	buf.Close()
	for {
		b, _, ok := buf.Take()
		if !ok {
			break
		}
		out = append(out, b...)
	}
	return out, counts
}

// cyclingReader returns data in reads of the given sizes, in turn.
type cyclingReader struct {
	data  []byte
	sizes []int
	i     int
}

func (r *cyclingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.sizes[r.i%len(r.sizes)], len(r.data))
	r.i++
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

type chunkedReader struct {
	data []byte
	n    int
}

func (r *chunkedReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.n, len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

func TestLineRules(t *testing.T) {
	tests := []struct {
		name, stream, in, want string
	}{
		{"event kept byte for byte", "stdout", `{"time_ns":5, "a" : "b"}` + "\n", `{"time_ns":5, "a" : "b"}` + "\n"},
		{"slog time stamped, original kept", "stdout", `{"time":"2026-11-27T10:00:00.5Z","level":"INFO","msg":"hi"}` + "\n",
			`{"time_ns":1795773600500000000,"_time":"time","time":"2026-11-27T10:00:00.5Z","level":"INFO","msg":"hi"}` + "\n"},
		{"zap ts stamped", "stdout", `{"level":"info","ts":1700000000.25,"msg":"x"}` + "\n",
			`{"time_ns":1700000000250000000,"_time":"ts","level":"info","ts":1700000000.25,"msg":"x"}` + "\n"},
		{"object without time gets receive time", "stdout", `{"msg":"x"}` + "\n",
			`{"time_ns":1700000000000000123,"_time":"received","msg":"x"}` + "\n"},
		{"empty object", "stdout", "{}\n", `{"time_ns":1700000000000000123,"_time":"received"}` + "\n"},
		{"plain text wrapped", "stdout", "hello \"world\"\n",
			`{"time_ns":1700000000000000123,"_stream":"stdout","_line":"hello \"world\""}` + "\n"},
		{"negative time_ns wrapped", "stdout", `{"time_ns":-1}` + "\n",
			`{"time_ns":1700000000000000123,"_stream":"stdout","_line":"{\"time_ns\":-1}"}` + "\n"},
		{"stderr always wrapped", "stderr", `{"time_ns":5}` + "\n",
			`{"time_ns":1700000000000000123,"_stream":"stderr","_line":"{\"time_ns\":5}"}` + "\n"},
		{"partial last line kept", "stdout", `{"time_ns":9}` + "\n" + `tail`,
			`{"time_ns":9}` + "\n" + `{"time_ns":1700000000000000123,"_stream":"stdout","_line":"tail"}` + "\n"},
		{"forged own event wrapped", "stdout", `{"time_ns":5,"_event":"child_exited"}` + "\n",
			`{"time_ns":1700000000000000123,"_stream":"stdout","_line":"{\"time_ns\":5,\"_event\":\"child_exited\"}"}` + "\n"},
		{"empty line kept", "stdout", "\n", `{"time_ns":1700000000000000123,"_stream":"stdout","_line":""}` + "\n"},
		{"invalid utf8 in an object", "stdout", "{\"time_ns\":1,\"a\":\"\xff\"}\n",
			`{"time_ns":1700000000000000123,"_stream":"stdout","_line_b64":"eyJ0aW1lX25zIjoxLCJhIjoi/yJ9"}` + "\n"},
	}
	for _, tt := range tests {
		for _, rs := range []int{1, 7, 1 << 20} {
			got, _ := capture(t, tt.stream, []byte(tt.in), rs)
			if string(got) != tt.want {
				t.Errorf("%s (reads of %d): got\n%s\nwant\n%s", tt.name, rs, got, tt.want)
			}
		}
	}
}

func TestLongLinesAreSplitLosslessly(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdé"), 2<<20/16) // 2 MB, multi-byte runes
	whole := []byte(`{"time_ns":1,"blob":"` + strings.Repeat("z", 200_000) + `"}`)
	in := append(append(append([]byte{}, whole...), '\n'), big...)
	in = append(in, '\n')
	in = append(in, "after\n"...)
	out, counts := capture(t, "stdout", in, 4096)
	lines := bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n"))
	if !bytes.Equal(lines[0], whole) {
		t.Fatal("200 KB event not kept whole")
	}
	if counts.Split.Load() != 1 {
		t.Fatalf("split count %d", counts.Split.Load())
	}
	var joined []byte
	parts := 0
	for _, l := range lines[1 : len(lines)-1] {
		if len(l) >= 1<<20 {
			t.Fatalf("piece of %d bytes", len(l))
		}
		var m struct {
			Line string `json:"_line"`
			Part int    `json:"_part"`
			More int    `json:"_more"`
		}
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatal(err)
		}
		parts++
		if m.Part != parts {
			t.Fatalf("part %d, want %d", m.Part, parts)
		}
		joined = append(joined, m.Line...)
	}
	if !bytes.Equal(joined, big) {
		t.Fatalf("pieces do not rebuild the line: %d vs %d bytes", len(joined), len(big))
	}
	if !bytes.Contains(lines[len(lines)-1], []byte(`"_line":"after"`)) {
		t.Fatalf("line after the long one: %s", lines[len(lines)-1])
	}
}

// rebuild reverses the line rules for one stream: the bytes the program
// printed, with a '\n' after every line.
func rebuild(t *testing.T, out []byte) []byte {
	t.Helper()
	var orig []byte
	for _, l := range bytes.SplitAfter(out, []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("output line is not JSON: %q", l)
		}
		var text []byte
		switch {
		case m["_line"] != nil:
			var s string
			json.Unmarshal(m["_line"], &s)
			text = []byte(s)
		case m["_line_b64"] != nil:
			var s string
			json.Unmarshal(m["_line_b64"], &s)
			text, _ = base64.StdEncoding.DecodeString(s)
		case bytes.HasPrefix(l, []byte(`{"time_ns":`)) && m["_time"] != nil:
			// Stamped: remove what was inserted.
			i := bytes.Index(l, []byte(`,"_time":"`)) + len(`,"_time":"`)
			i += bytes.IndexByte(l[i:], '"') + 1
			rest := l[i:]
			rest = bytes.TrimPrefix(rest, []byte(","))
			text = append([]byte("{"), bytes.TrimSuffix(rest, []byte("\n"))...)
		default:
			text = bytes.TrimSuffix(l, []byte("\n"))
		}
		orig = append(orig, text...)
		if m["_more"] == nil {
			orig = append(orig, '\n')
		}
	}
	return orig
}

func TestRandomStreamsRebuildExactly(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{`{"time_ns":12,"a":1}`, `{"_event":"x","time_ns":1}`, `{"msg":"no time"}`, "plain text", "\xff\xfe bytes", "", "{broken", `"str"`, "tab\there", "é✓", `{"time_ns":"x"}`}
	for iter := range 200 {
		var in []byte
		for range rng.IntN(50) {
			if rng.IntN(40) == 0 {
				in = append(in, bytes.Repeat([]byte("L"), MaxLineBytes+rng.IntN(3*PieceBytes))...)
			} else {
				in = append(in, pieces[rng.IntN(len(pieces))]...)
			}
			in = append(in, '\n')
		}
		got, _ := capture(t, "stdout", in, 1+rng.IntN(100_000))
		if back := rebuild(t, got); !bytes.Equal(back, in) {
			t.Fatalf("iteration %d: stream not rebuilt exactly (%d vs %d bytes)", iter, len(back), len(in))
		}
	}
}

func TestBufferDropsWhenFullAndCounts(t *testing.T) {
	buf := NewBuffer(100)
	buf.Put(bytes.Repeat([]byte("a"), 60), 1, nil)
	buf.Put(bytes.Repeat([]byte("b"), 60), 3, nil)
	lines, drops, ok := buf.Take()
	if !ok || len(lines) != 60 || drops != (Drops{Lines: 3, Bytes: 60}) {
		t.Fatalf("Take = %d bytes, %+v, %v", len(lines), drops, ok)
	}
	buf.Close()
	if _, _, ok := buf.Take(); ok {
		t.Fatal("Take after Close and drain returned ok")
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte(`{"time_ns":1}`+"\n"+`{"ts":1.5}`+"\nplain\n\xff\n{}"), 3, false)
	f.Fuzz(func(t *testing.T, in []byte, readSize int, stderr bool) {
		if readSize <= 0 {
			readSize = 1
		}
		stream := "stdout"
		if stderr {
			stream = "stderr"
		}
		out, _ := capture(t, stream, in, readSize)
		for _, l := range bytes.SplitAfter(out, []byte("\n")) {
			if len(l) > 0 && !json.Valid(l) {
				t.Fatalf("invalid output line %q", l)
			}
		}
		want := in
		if len(want) > 0 && want[len(want)-1] != '\n' {
			want = append(append([]byte{}, in...), '\n')
		}
		if stream == "stdout" {
			if back := rebuild(t, out); !bytes.Equal(back, want) {
				t.Fatalf("not rebuilt: %q vs %q", back, want)
			}
		}
	})
}

// stallingWriter is a Buffer's write function whose first call blocks until
// release is closed, like a write to a stalled disk.
type stallingWriter struct {
	release chan struct{}
	entered chan struct{}
	mu      sync.Mutex
	calls   int
	out     []byte
}

func (w *stallingWriter) write(p []byte) bool {
	w.mu.Lock()
	w.calls++
	first := w.calls == 1
	w.mu.Unlock()
	if first {
		close(w.entered)
		<-w.release
	}
	w.mu.Lock()
	w.out = append(w.out, p...)
	w.mu.Unlock()
	return true
}

// TestStalledDirectWriteKeepsReading: while a direct write is stuck, the
// program can go on writing its whole output (another goroutine reads on),
// and once the disk is back every line is there once and in order, or, past
// the Buffer's limit, counted as dropped.
func TestStalledDirectWriteKeepsReading(t *testing.T) {
	for _, limit := range []int{1 << 20, 2000} {
		t.Run(strconv.Itoa(limit), func(t *testing.T) {
			var in []byte
			var lines [][]byte
			for i := range 500 {
				l := fmt.Appendf(nil, `{"time_ns":%d,"n":"%s"}`+"\n", i+1, strings.Repeat("x", i%37))
				in = append(in, l...)
				lines = append(lines, l)
			}
			buf := NewBuffer(limit)
			w := &stallingWriter{release: make(chan struct{}), entered: make(chan struct{})}
			buf.SetWriter(w.write)
			pr, pw := io.Pipe()
			r := NewReader("stdout", buf, now, &Counts{}, nil)
			done := make(chan error, 1)
			go func() { done <- r.Run(pr) }()

			// The first line goes out alone and stalls; the rest must still be
			// read although nobody takes from the Buffer.
			if _, err := pw.Write(lines[0]); err != nil {
				t.Fatal(err)
			}
			<-w.entered
			wrote := make(chan struct{})
			go func() {
				defer close(wrote)
				for _, l := range lines[1:] {
					pw.Write(l)
				}
				pw.Close()
			}()
			select {
			case <-wrote:
			case <-time.After(20 * time.Second):
				t.Fatal("the program was blocked by a stalled write")
			}
			select {
			case err := <-done:
				t.Fatalf("Run returned %v while its write was still stalled", err)
			default:
			}
			close(w.release)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			buf.Close()
			got := append([]byte{}, w.out...)
			var drops Drops
			for {
				b, d, ok := buf.Take()
				if !ok {
					break
				}
				got = append(got, b...)
				drops.Lines += d.Lines
				drops.Bytes += d.Bytes
			}
			// got must be in's lines in order with drops.Lines of them missing.
			rest := got
			missing, missingBytes := 0, 0
			for _, l := range lines {
				if bytes.HasPrefix(rest, l) {
					rest = rest[len(l):]
					continue
				}
				missing++
				missingBytes += len(l)
			}
			if len(rest) != 0 {
				t.Fatalf("%d bytes out of order or unknown: %.80q", len(rest), rest)
			}
			if int64(missing) != drops.Lines || int64(missingBytes) != drops.Bytes {
				t.Fatalf("%d lines (%d bytes) missing, %+v counted as dropped", missing, missingBytes, drops)
			}
			if limit > len(in) && missing != 0 {
				t.Fatalf("%d lines dropped with room for all", missing)
			}
			if limit < len(in) && missing == 0 {
				t.Fatal("nothing dropped past the limit")
			}
		})
	}
}

// TestDirectWritesAndTakesKeepOrder: lines written directly by readers and
// lines the writer takes from the queue reach the disk once each, in order.
func TestDirectWritesAndTakesKeepOrder(t *testing.T) {
	buf := NewBuffer(1 << 30)
	var mu sync.Mutex
	var out []byte
	slow := rand.New(rand.NewPCG(1, 2))
	var direct, taken int
	write := func(p []byte) bool {
		mu.Lock()
		defer mu.Unlock()
		direct++
		out = append(out, p...)
		if slow.IntN(4) == 0 {
			time.Sleep(time.Millisecond)
		}
		return true
	}
	buf.SetWriter(write)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for {
			b, _, ok := buf.Take()
			if !ok {
				return
			}
			write(b)
			mu.Lock()
			direct--
			taken++
			mu.Unlock()
		}
	}()
	var in []byte
	for i := range 150000 {
		in = fmt.Appendf(in, `{"time_ns":%d}`+"\n", i+1)
	}
	// Full reads queue for the writer, short ones are written directly.
	src := &cyclingReader{data: in, sizes: []int{777, readBytes, 5000, readBytes, readBytes, 1}}
	if err := NewReader("stdout", buf, now, &Counts{}, nil).Run(src); err != nil {
		t.Fatal(err)
	}
	buf.Close()
	<-writerDone
	if !bytes.Equal(out, in) {
		t.Fatalf("written %d bytes, want %d in order", len(out), len(in))
	}
	if direct == 0 || taken == 0 {
		t.Fatalf("%d direct writes and %d taken batches: both paths should be used", direct, taken)
	}
}
