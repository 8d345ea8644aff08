package jsonscan

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strings"
	"testing"
	"time"
)

// at is the Unix nanosecond time of an RFC 3339 constant in a test table.
func at(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic("jsonscan test: bad constant " + s)
	}
	return t.UnixNano()
}

func TestScan(t *testing.T) {
	valid := Result{Object: true, UTF8: true}
	withTime := func(key string, ns int64) Result {
		return Result{Object: true, UTF8: true, HasTime: true, TimeNS: ns, TimeKey: key, TimeNSKey: key == "time_ns"}
	}
	unusableTimeNS := Result{Object: true, UTF8: true, TimeNSKey: true}
	notObject := Result{UTF8: true}

	tests := []struct {
		name string
		line string
		want Result
	}{
		// Stele's own format.
		{"time_ns", `{"time_ns":1714559696789000000,"msg":"hi"}`, withTime("time_ns", 1714559696789000000)},
		{"time_ns zero", `{"time_ns":0,"a":1}`, withTime("time_ns", 0)},
		{"time_ns max int64", `{"time_ns":9223372036854775807}`, withTime("time_ns", 9223372036854775807)},
		{"time_ns overflows int64", `{"time_ns":9223372036854775808}`, unusableTimeNS},
		{"time_ns huge", `{"time_ns":123456789012345678901234567890}`, unusableTimeNS},
		{"time_ns negative", `{"time_ns":-1}`, unusableTimeNS},
		{"time_ns negative zero", `{"time_ns":-0}`, unusableTimeNS},
		{"time_ns float", `{"time_ns":1.5}`, unusableTimeNS},
		{"time_ns exponent", `{"time_ns":1e18}`, unusableTimeNS},
		{"time_ns string", `{"time_ns":"1714559696789000000"}`, unusableTimeNS},
		{"time_ns null", `{"time_ns":null}`, unusableTimeNS},
		{"time_ns object", `{"time_ns":{"a":1}}`, unusableTimeNS},
		{"time_ns array", `{"time_ns":[1]}`, unusableTimeNS},
		{"unusable time_ns hides time", `{"time_ns":-5,"time":"2024-05-01T10:34:56Z"}`, unusableTimeNS},
		{"time_ns beats earlier time", `{"time":"2024-05-01T10:34:56Z","time_ns":7}`, withTime("time_ns", 7)},
		{"duplicate time_ns first wins", `{"time_ns":1,"time_ns":2}`, withTime("time_ns", 1)},
		{"duplicate time_ns first unusable", `{"time_ns":"x","time_ns":2}`, unusableTimeNS},
		{"escaped key not matched", `{"time\u005fns":5}`, valid},
		{"escaped key, plain time used", `{"time\u005fns":5,"ts":1.5}`, withTime("ts", 1500000000)},
		{"nested time_ns ignored", `{"a":{"time_ns":5},"b":[{"time_ns":6}]}`, valid},
		{"time_ns inside string ignored", `{"msg":"\"time_ns\":5"}`, valid},
		{"whitespace everywhere", " \t\r\n{ \"time_ns\" \n: 42 , \"a\" : [ ] } \r\n", withTime("time_ns", 42)},

		// Go log/slog JSONHandler.
		{"slog", `{"time":"2024-05-01T12:34:56.789+02:00","level":"INFO","msg":"request done","status":200}`, withTime("time", at("2024-05-01T10:34:56.789Z"))},
		{"slog nanoseconds", `{"time":"2024-05-01T10:34:56.123456789Z","level":"INFO","msg":"x"}`, withTime("time", at("2024-05-01T10:34:56.123456789Z"))},
		// zerolog.
		{"zerolog RFC 3339", `{"level":"info","time":"2024-05-01T12:34:56+02:00","message":"hello"}`, withTime("time", at("2024-05-01T10:34:56Z"))},
		{"zerolog unix seconds", `{"level":"info","time":1714559696,"message":"hello"}`, withTime("time", 1714559696000000000)},
		{"zerolog unix ms", `{"level":"info","time":1714559696789,"message":"hello"}`, withTime("time", 1714559696789000000)},
		{"zerolog unix µs", `{"level":"info","time":1714559696789012,"message":"hello"}`, withTime("time", 1714559696789012000)},
		{"zerolog unix ns", `{"level":"info","time":1714559696789012345,"message":"hello"}`, withTime("time", 1714559696789012345)},
		// pino and bunyan.
		{"pino", `{"level":30,"time":1714559696789,"pid":4242,"hostname":"web-1","msg":"hello"}`, withTime("time", 1714559696789000000)},
		{"pino isoTime", `{"level":30,"time":"2024-05-01T10:34:56.789Z","pid":4242,"msg":"hello"}`, withTime("time", at("2024-05-01T10:34:56.789Z"))},
		{"bunyan", `{"name":"api","hostname":"web-1","pid":4242,"level":30,"msg":"hello","time":"2024-05-01T10:34:56.789Z","v":0}`, withTime("time", at("2024-05-01T10:34:56.789Z"))},
		// zap.
		{"zap production", `{"level":"info","ts":1714559696.7890122,"caller":"api/main.go:42","msg":"hello"}`, withTime("ts", 1714559696789012200)},
		{"zap ISO 8601", `{"level":"info","ts":"2024-05-01T12:34:56.789+0200","caller":"api/main.go:42","msg":"hello"}`, withTime("ts", at("2024-05-01T10:34:56.789Z"))},
		{"zap exponent", `{"ts":1.7145596967890122e9}`, withTime("ts", 1714559696789012200)},
		{"zap integer exponent", `{"ts":17145596967890122E-7}`, withTime("ts", 1714559696789012200)},

		// Preference and fallbacks.
		{"time beats ts", `{"ts":1,"time":2}`, withTime("time", 2000000000)},
		{"unusable time falls back to ts", `{"time":"yesterday","ts":1.25}`, withTime("ts", 1250000000)},
		{"duplicate time first wins", `{"time":1,"time":2}`, withTime("time", 1000000000)},
		{"duplicate time first unusable", `{"time":"x","time":2}`, valid},
		{"time before 1970", `{"time":"1969-12-31T23:59:59Z"}`, valid},
		{"time negative number", `{"time":-1}`, valid},
		{"time after 2262", `{"time":"2263-01-01T00:00:00Z"}`, valid},
		{"time seconds beyond int64 ns", `{"time":9999999999}`, valid},
		{"time zero", `{"time":0}`, withTime("time", 0)},
		{"time 0.0e5", `{"time":0.0e5}`, withTime("time", 0)},
		{"time huge exponent", `{"time":1e999999999999999999999}`, valid},
		{"time tiny exponent", `{"time":1e-999999999999999999999}`, withTime("time", 0)},
		{"time sub-nanosecond truncated", `{"time":1.0000000009}`, withTime("time", 1000000000)},
		{"time seconds at int64 limit", `{"time":9223372036.854775807}`, withTime("time", 9223372036854775807)},
		{"time seconds past int64 limit", `{"time":9223372036.854775808}`, valid},
		{"time seconds below ms boundary", `{"time":99999999999.5}`, valid},
		{"time ms boundary", `{"time":100000000000}`, withTime("time", 100000000000000000)},
		{"time µs boundary", `{"time":100000000000000}`, withTime("time", 100000000000000000)},
		{"time ns boundary", `{"time":100000000000000000}`, withTime("time", 100000000000000000)},
		{"time ns too large", `{"time":10000000000000000000}`, valid},
		{"time true", `{"time":true}`, valid},
		{"time escaped string", `{"time":"2024-05-01T10:34:56\u005a"}`, valid},
		{"time lowercase t z", `{"time":"2024-05-01t10:34:56z"}`, withTime("time", at("2024-05-01T10:34:56Z"))},
		{"time space separator", `{"time":"2024-05-01 10:34:56.5Z"}`, withTime("time", at("2024-05-01T10:34:56.5Z"))},
		{"time comma fraction", `{"time":"2024-05-01T10:34:56,25Z"}`, withTime("time", at("2024-05-01T10:34:56.25Z"))},
		{"time long fraction truncated", `{"time":"2024-05-01T10:34:56.1234567899Z"}`, withTime("time", at("2024-05-01T10:34:56.123456789Z"))},
		{"time no zone", `{"time":"2024-05-01T10:34:56"}`, valid},
		{"time Feb 29 leap", `{"time":"2024-02-29T00:00:00Z"}`, withTime("time", at("2024-02-29T00:00:00Z"))},
		{"time Feb 29 not leap", `{"time":"2023-02-29T00:00:00Z"}`, valid},
		{"time leap second", `{"time":"2016-12-31T23:59:60Z"}`, valid},
		{"time offset without colon", `{"time":"2024-05-01T12:34:56-0130"}`, withTime("time", at("2024-05-01T14:04:56Z"))},
		{"time hour 24", `{"time":"2024-05-01T24:00:00Z"}`, valid},
		{"time bad offset", `{"time":"2024-05-01T10:00:00+24:00"}`, valid},
		{"time date only", `{"time":"2024-05-01"}`, valid},
		{"nested time ignored", `{"a":{"time":1}}`, valid},
		{"no time", `{}`, valid},
		{"no time with keys", `{"msg":"hello","n":1}`, valid},

		// Not an object.
		{"empty line", ``, notObject},
		{"only whitespace", " \t\r ", notObject},
		{"array", `[{"time_ns":1}]`, notObject},
		{"string", `"time_ns"`, notObject},
		{"number", `1714559696`, notObject},
		{"literal", `true`, notObject},
		{"plain text", `panic: runtime error: index out of range`, notObject},
		{"trailing garbage", `{"time_ns":1}x`, notObject},
		{"two objects", `{"time_ns":1} {"time_ns":2}`, notObject},
		{"trailing comma", `{"time_ns":1,}`, notObject},
		{"unterminated", `{"time_ns":1`, notObject},
		{"unterminated string", `{"msg":"abc`, notObject},
		{"missing colon", `{"time_ns" 1}`, notObject},
		{"unquoted key", `{time_ns:1}`, notObject},
		{"single quotes", `{'time_ns':1}`, notObject},
		{"leading zero", `{"time_ns":01}`, notObject},
		{"plus sign", `{"time_ns":+1}`, notObject},
		{"bare dot", `{"a":1.}`, notObject},
		{"bare exponent", `{"a":1e}`, notObject},
		{"NaN", `{"a":NaN}`, notObject},
		{"bad literal", `{"a":tru}`, notObject},
		{"bad escape", `{"a":"\x"}`, notObject},
		{"short unicode escape", `{"a":"\u12"}`, notObject},
		{"raw control byte in string", "{\"a\":\"\x01\"}", notObject},
		{"raw tab in string", "{\"a\":\"\t\"}", notObject},
		{"NUL byte", "{\"time_ns\":1}\x00", notObject},
		{"NUL in string", "{\"a\":\"\x00\"}", notObject},
		{"BOM", "\xef\xbb\xbf{\"time_ns\":1}", notObject},
		{"form feed is not JSON space", "\f{}", notObject},
		{"mismatched brackets", `{"a":[1}`, notObject},
		{"comment", `{} // hi`, notObject},

		// UTF-8.
		{"UTF-8 text", `{"msg":"héllo, 世界 🌍","time_ns":3}`, withTime("time_ns", 3)},
		{"invalid UTF-8 in string", "{\"msg\":\"\xff\xfe\",\"time_ns\":3}", Result{Object: true, HasTime: true, TimeNS: 3, TimeKey: "time_ns", TimeNSKey: true}},
		{"truncated UTF-8 before quote", "{\"msg\":\"\xe4\xb8\"}", Result{Object: true}},
		{"surrogate half", "{\"msg\":\"\xed\xa0\x80\"}", Result{Object: true}},
		{"overlong encoding", "{\"msg\":\"\xc0\xaf\"}", Result{Object: true}},
		{"invalid UTF-8 outside string", "{\"a\":1}\xff", Result{}},
		{"valid UTF-8 outside string", "{\"a\":1}é", Result{UTF8: true}},
		{"escaped surrogate is fine", `{"msg":"\ud800"}`, valid},
		{"reserved key", `{"time_ns":1,"_event":"child_exited"}`, Result{Object: true, UTF8: true, HasTime: true, TimeNS: 1, TimeKey: "time_ns", TimeNSKey: true, ReservedKey: true}},
		{"escaped reserved key", `{"\u005fevent":"x"}`, Result{Object: true, UTF8: true, ReservedKey: true}},
		{"nested underscore is not reserved", `{"a":{"_b":1}}`, valid},
		{"underscore inside a key is not reserved", `{"a_b":1}`, valid},
		{"long string with escapes", `{"msg":"` + strings.Repeat(`abcdefgh\"\\\n\u00e9`, 20) + `"}`, valid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Scan([]byte(tt.line)); got != tt.want {
				t.Errorf("Scan(%q)\n got  %+v\n want %+v", tt.line, got, tt.want)
			}
			checkReference(t, []byte(tt.line))
		})
	}
}

// TestDepth checks the nesting limit agrees with encoding/json's at the
// boundary, for both kinds of container and for empty innermost ones.
func TestDepth(t *testing.T) {
	tests := []struct {
		name  string
		depth int
		open  string
		inner string
		close string
	}{
		{"arrays at limit", maxDepth, "[", "", "]"},
		{"arrays over limit", maxDepth + 1, "[", "", "]"},
		{"objects at limit", maxDepth - 1, `{"a":`, "{}", "}"},
		{"objects over limit", maxDepth, `{"a":`, "{}", "}"},
		{"mixed at limit", maxDepth / 2, `{"a":[`, "", "]}"},
		{"mixed over limit", maxDepth/2 + 1, `{"a":[`, "", "]}"},
		{"far over limit, unclosed", 5 * maxDepth, "[", "", ""},
		// Scan retries lines deeper than its shallow stack with a full one.
		{"shallow stack full", 64 * shallowWords, "[", "", "]"},
		{"shallow stack overflows", 64*shallowWords + 1, "[", "", "]"},
		{"retried line is invalid", 64*shallowWords + 1, "[", "x", "]"},
		{"retry keeps the timestamp", 70, `{"time_ns":7,"a":[`, `{"time_ns":8}`, "]}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := []byte(strings.Repeat(tt.open, tt.depth) + tt.inner + strings.Repeat(tt.close, tt.depth))
			got, want := Scan(line).Object, json.Valid(line) && line[0] == '{'
			if got != want {
				t.Errorf("depth %d: Object = %v, encoding/json says %v", tt.depth, got, want)
			}
			if r := Scan(line); bytes.HasPrefix(line, []byte(`{"time_ns":7`)) && r.TimeNS != 7 {
				t.Errorf("depth %d: TimeNS = %d, want 7", tt.depth, r.TimeNS)
			}
			checkReference(t, line)
		})
	}
	// The boundary itself must be where encoding/json puts it.
	if !json.Valid([]byte(strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth))) {
		t.Errorf("encoding/json rejects depth %d; maxDepth is out of date", maxDepth)
	}
	if json.Valid([]byte(strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1))) {
		t.Errorf("encoding/json accepts depth %d; maxDepth is out of date", maxDepth+1)
	}
}

func TestScanDoesNotAllocate(t *testing.T) {
	lines := append(benchLines(), []byte(strings.Repeat("[", maxDepth)+strings.Repeat("]", maxDepth)))
	for _, line := range lines {
		if n := testing.AllocsPerRun(100, func() { Scan(line) }); n != 0 {
			t.Errorf("Scan(%.60q...) allocates %v times", line, n)
		}
	}
}

// TestStopBytes puts every byte value at every position of a word of plain
// bytes, then a stop byte below every value, so a constant, a mask or a
// borrow mistake in any lane shows.
func TestStopBytes(t *testing.T) {
	isStop := func(c byte) bool { return c < 0x20 || c == '"' || c == '\\' || c >= 0x80 }
	for pos := range 8 {
		for c := range 256 {
			b := []byte("a~ #]!/A")
			b[pos] = byte(c)
			m := stopBytes(binary.LittleEndian.Uint64(b))
			switch {
			case !isStop(byte(c)) && m != 0:
				t.Errorf("stopBytes(%q) = %#x, want 0", b, m)
			case isStop(byte(c)) && bits.TrailingZeros64(m)>>3 != pos:
				t.Errorf("stopBytes(%q) = %#x: lowest flag not in byte %d", b, m, pos)
			}
			// A stop byte just below: it, not what its borrow touches, is first.
			if pos > 0 {
				for _, s := range []byte{0, 0x1f, '"', '\\', 0x80, 0xff} {
					b[pos-1] = s
					if m := stopBytes(binary.LittleEndian.Uint64(b)); bits.TrailingZeros64(m)>>3 > pos-1 {
						t.Errorf("stopBytes(%q) = %#x: lowest flag above byte %d", b, m, pos-1)
					}
				}
			}
		}
	}
}
