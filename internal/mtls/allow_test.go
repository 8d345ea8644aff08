package mtls

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseAllowList(t *testing.T) {
	_, fpA, pemA := testCert(t, CertOptions{Name: "a"})
	_, fpB, _ := testCert(t, CertOptions{Name: "b"})
	a, b := fpA.String(), fpB.String()
	colonsB := strings.ToUpper(colonize(b))
	tests := []struct {
		name    string
		file    string
		tags    []string
		want    []Fingerprint
		wantPII []Fingerprint
		errLine int // 0: no error
		errText string
	}{
		{name: "empty", file: ""},
		{name: "comments only", file: "# nobody\n\n   # still nobody\n"},
		{name: "two", file: a + "\n" + colonsB + "  # b, with colons\n", want: []Fingerprint{fpA, fpB}},
		{name: "no final newline, CRLF", file: "# x\r\n" + a + "\r\n" + b, want: []Fingerprint{fpA, fpB}},
		{name: "PEM", file: "# a as PEM\n" + string(pemA) + b + "\n", want: []Fingerprint{fpA, fpB}},
		{name: "PEM indented", file: indent(string(pemA)), want: []Fingerprint{fpA}},
		{name: "duplicate", file: a + "\n" + a + "\n" + string(pemA), want: []Fingerprint{fpA}},
		{name: "tag", file: a + " pii\n" + b + "\n", tags: []string{"pii"}, want: []Fingerprint{fpA, fpB}, wantPII: []Fingerprint{fpA}},
		{name: "tag merged", file: a + "\n" + a + " pii\n", tags: []string{"pii"}, want: []Fingerprint{fpA}, wantPII: []Fingerprint{fpA}},
		{name: "tag not allowed", file: "\n" + a + " pii\n", errLine: 2, errText: `unexpected "pii"`},
		{name: "unknown tag", file: a + " admin\n", tags: []string{"pii"}, errLine: 1, errText: `unknown tag "admin"`},
		{name: "short", file: a + "\n\n" + a[:63] + "\n", errLine: 3, errText: "is not a fingerprint"},
		{name: "not hex", file: "zz" + a[2:], errLine: 1, errText: "is not a fingerprint"},
		{name: "long junk clipped", file: strings.Repeat("x", 10000), errLine: 1, errText: `"` + strings.Repeat("x", maxErrorText) + `..."`},
		{name: "invalid UTF-8 clipped whole escapes", file: strings.Repeat("\x9f", 29), errLine: 1, errText: `"` + strings.Repeat(`\x9f`, maxErrorText/4) + `..."`},
		{name: "PEM key", file: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", errLine: 1, errText: "only certificates"},
		{name: "PEM unterminated", file: "\n\n" + strings.Split(string(pemA), "-----END")[0], errLine: 3, errText: "without its END line"},
		{name: "PEM garbage", file: "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", errLine: 1, errText: "malformed PEM"},
		{name: "PEM not a certificate", file: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", errLine: 1, errText: "not a valid certificate"},
		{name: "after PEM", file: string(pemA) + "nope\n", errLine: strings.Count(string(pemA), "\n") + 1, errText: "is not a fingerprint"},
		{name: "too many", file: strings.Repeat(a+"\n", MaxAllowEntries+1), errLine: MaxAllowEntries + 1, errText: "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := ParseAllowList([]byte(tt.file), tt.tags...)
			if tt.errLine != 0 {
				var le *LineError
				if !errors.As(err, &le) || le.Line != tt.errLine || !strings.Contains(err.Error(), tt.errText) || !errors.Is(err, ErrAllowSyntax) {
					t.Fatalf("error %v, want line %d: ...%s", err, tt.errLine, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if list.Len() != len(tt.want) {
				t.Errorf("%d entries, want %d", list.Len(), len(tt.want))
			}
			for _, f := range tt.want {
				if !list.Contains(f) {
					t.Errorf("%s missing", f)
				}
				want := false
				for _, p := range tt.wantPII {
					want = want || p == f
				}
				if list.HasTag(f, "pii") != want {
					t.Errorf("%s: pii %v, want %v", f, !want, want)
				}
			}
		})
	}
}

func colonize(h string) string {
	var parts []string
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n\t ") + "\n"
}

func TestLoadAllowList(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, MaxAllowFileBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAllowList(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("big file: %v, want ErrTooLarge", err)
	}
	if _, err := LoadAllowList(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("\nxyz\n"), 0o644)
	if _, err := LoadAllowList(bad); err == nil || !strings.Contains(err.Error(), bad+": line 2:") {
		t.Errorf("bad file: %v, want the path and line 2", err)
	}
	var nilList *AllowList
	if nilList.Contains(Fingerprint{}) || nilList.Len() != 0 || nilList.HasTag(Fingerprint{}, "x") {
		t.Error("nil list admits")
	}
	if (&Allow{}).Load().Len() != 0 {
		t.Error("zero Allow admits")
	}
}

// FuzzAllowList checks that no file makes the parser panic, that accepted
// files admit exactly what they list, and that errors name a line of the file.
func FuzzAllowList(f *testing.F) {
	_, fpA, pemA := testCert(f, CertOptions{Name: "a"})
	f.Add([]byte(fpA.String() + "\n"))
	f.Add([]byte(colonize(fpA.String()) + " pii # c\n"))
	f.Add(pemA)
	f.Add([]byte("# c\n\n" + string(pemA) + fpA.String()))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n"))
	f.Add([]byte("-----BEGIN X-----\n-----END X-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		list, err := ParseAllowList(data, "pii")
		lines := strings.Count(string(data), "\n") + 1
		if err != nil {
			var le *LineError
			if errors.As(err, &le) && (le.Line < 1 || le.Line > lines) {
				t.Fatalf("error on line %d of %d", le.Line, lines)
			}
			if len(err.Error()) > 200 {
				t.Fatalf("error of %d bytes", len(err.Error()))
			}
			return
		}
		if list.Len() > MaxAllowEntries || list.Len() > lines {
			t.Fatalf("%d entries from %d lines", list.Len(), lines)
		}
		// Every fingerprint admitted, written out alone, parses to the same set.
		var out strings.Builder
		for f := range list.entries {
			out.WriteString(f.String() + "\n")
		}
		again, err := ParseAllowList([]byte(out.String()))
		if err != nil || again.Len() != list.Len() {
			t.Fatalf("round trip: %v, %d entries, want %d", err, again.Len(), list.Len())
		}
	})
}

// FuzzParseFingerprint checks that accepted text round-trips.
func FuzzParseFingerprint(f *testing.F) {
	f.Add("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")
	f.Add(colonize("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"))
	f.Add("0:")
	f.Fuzz(func(t *testing.T, s string) {
		fp, err := ParseFingerprint(s)
		if err != nil {
			return
		}
		if !strings.EqualFold(strings.ReplaceAll(s, ":", ""), fp.String()) {
			t.Fatalf("%q parsed as %s", s, fp)
		}
		if again, err := ParseFingerprint(colonize(fp.String())); err != nil || again != fp {
			t.Fatalf("colon form of %s: %v", fp, err)
		}
	})
}
