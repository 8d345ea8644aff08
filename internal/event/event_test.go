package event

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"
)

func TestBuilderProducesValidJSON(t *testing.T) {
	tests := []struct {
		name string
		raw  []byte
		want map[string]any
	}{
		{"plain", []byte("hello world"), map[string]any{"_line": "hello world"}},
		{"quotes and controls", []byte("a\"b\\c\x00\x1f\t\r"), map[string]any{"_line": "a\"b\\c\x00\x1f\t\r"}},
		{"unicode", []byte("héllo \u2028 ✓"), map[string]any{"_line": "héllo \u2028 ✓"}},
		{"invalid utf8", []byte{0xff, 'a', 0xc3}, map[string]any{"_line_b64": base64.StdEncoding.EncodeToString([]byte{0xff, 'a', 0xc3})}},
		{"empty", nil, map[string]any{"_line": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Begin(nil, 42, "")
			b.Str("_stream", "stderr")
			b.Raw(tt.raw)
			line := b.End()
			if !bytes.HasSuffix(line, []byte("}\n")) || bytes.Count(line, []byte("\n")) != 1 {
				t.Fatalf("not one line: %q", line)
			}
			var got map[string]any
			if err := json.Unmarshal(line, &got); err != nil {
				t.Fatalf("invalid JSON %q: %v", line, err)
			}
			if got["time_ns"] != float64(42) || got["_stream"] != "stderr" {
				t.Errorf("fields lost: %v", got)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestEventFieldsOrder(t *testing.T) {
	b := Begin(nil, 7, "child_exited")
	b.Int("pid", 12)
	b.Str("signal", "")
	got := string(b.End())
	want := `{"time_ns":7,"_event":"child_exited","pid":12,"signal":""}` + "\n"
	if got != want {
		t.Errorf("got %s want %s", got, want)
	}
}
