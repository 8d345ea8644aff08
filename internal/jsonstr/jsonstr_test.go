package jsonstr

import (
	"encoding/json"
	"testing"
)

func TestAppend(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{"a\"b\\c\n\r\t\x00\x1f", `"a\"b\\c\n\r\t\u0000\u001f"`},
		{"\u2028\u2029é", `"\u2028\u2029é"`},
		{"\xff", `"\ufffd"`},
	}
	for _, tt := range tests {
		if got := string(Append(nil, tt.in)); got != tt.want {
			t.Errorf("Append(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// FuzzAppend checks the output against encoding/json: valid JSON that
// decodes to what json.Marshal's output decodes to.
func FuzzAppend(f *testing.F) {
	f.Add("plain")
	f.Add("\x00\xff\u2029\"\\")
	f.Fuzz(func(t *testing.T, s string) {
		var got, want string
		if err := json.Unmarshal(Append(nil, s), &got); err != nil {
			t.Fatalf("Append(%q) is not valid JSON: %v", s, err)
		}
		m, _ := json.Marshal(s)
		_ = json.Unmarshal(m, &want)
		if got != want {
			t.Fatalf("Append(%q) decodes to %q, want %q", s, got, want)
		}
	})
}
