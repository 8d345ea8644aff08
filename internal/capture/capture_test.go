package capture

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/rand/v2"
	"strings"
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
	buf.Put(bytes.Repeat([]byte("a"), 60), 1)
	buf.Put(bytes.Repeat([]byte("b"), 60), 3)
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
