package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"stele/internal/goldenfile"
)

// storeBin builds the real store binary once per test run.
func storeBin(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "store")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type result struct {
	stdout, stderr string
	code           int
}

func runStore(t *testing.T, bin, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

func sameJSONLines(t *testing.T, got, want string) {
	t.Helper()
	g := strings.Split(strings.TrimSpace(got), "\n")
	w := strings.Split(strings.TrimSpace(want), "\n")
	if len(g) != len(w) {
		t.Fatalf("%d lines, want %d:\n%s", len(g), len(w), got)
	}
	for i := range g {
		var a, b any
		if err := json.Unmarshal([]byte(g[i]), &a); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, g[i])
		}
		json.Unmarshal([]byte(w[i]), &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("line %d: %s, want %s", i, g[i], w[i])
		}
	}
}

func TestSubcommands(t *testing.T) {
	bin := storeBin(t)
	doc, err := os.ReadFile("testdata/document.json")
	if err != nil {
		t.Fatal(err)
	}

	// shred prints the paper's columns; the example line is among them.
	sh := runStore(t, bin, string(doc), "shred")
	if sh.code != 0 {
		t.Fatalf("shred: %+v", sh)
	}
	goldenfile.Check(t, "document.columns", []byte(sh.stdout))
	if !strings.Contains(sh.stdout, `{"column":"Name.Language.Code","type":"string","max_r":2,"max_d":3,"values":[["en-us",0,3],["en",2,3],[null,1,1],["en-gb",1,3],[null,0,1]]`) {
		t.Error("shred output lacks the Name.Language.Code line")
	}

	// assemble inverts shred.
	as := runStore(t, bin, sh.stdout, "assemble")
	if as.code != 0 {
		t.Fatalf("assemble: %+v", as)
	}
	sameJSONLines(t, as.stdout, string(doc))

	// pack, unpack, unpack -fields, inspect.
	seg := filepath.Join(t.TempDir(), "doc.seg")
	if r := runStore(t, bin, string(doc), "pack", "-o", seg); r.code != 0 {
		t.Fatalf("pack: %+v", r)
	}
	un := runStore(t, bin, "", "unpack", seg)
	sameJSONLines(t, un.stdout, string(doc))
	pr := runStore(t, bin, "", "unpack", seg, "-fields", "DocId,Name.Language.Country")
	want := `{"DocId":10,"Name":[{"Language":[{"Country":"us"},{}]},{},{"Language":[{"Country":"gb"}]}]}
{"DocId":20,"Name":[{}]}
`
	if pr.stdout != want {
		t.Errorf("unpack -fields:\n%s\nwant:\n%s", pr.stdout, want)
	}
	in := runStore(t, bin, "", "inspect", seg)
	if in.code != 0 || !strings.Contains(in.stdout, "Name[].Language[].Country") {
		t.Errorf("inspect: %+v", in)
	}

	// Errors: lower case, prefixed, with exit status 1 (bad input) or 2 (usage).
	seg2 := filepath.Join(t.TempDir(), "bad.seg")
	os.WriteFile(seg2, []byte("not a segment at all, not at all"), 0o644)
	tests := []struct {
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"", nil, 2, "store: error: no subcommand"},
		{"", []string{"frob"}, 2, `store: error: unknown subcommand "frob"`},
		{"", []string{"pack"}, 2, "store: error: pack needs -o FILE"},
		{"", []string{"unpack"}, 2, "store: error: store unpack takes 1 argument(s), got 0"},
		{"[1]\n", []string{"shred"}, 1, "store: error: line 1: dremel: event is not a JSON object"},
		{"{\"a\":1}\n{\"a\":\n", []string{"pack", "-o", filepath.Join(t.TempDir(), "x.seg")}, 1, "store: error: line 2: dremel: invalid JSON"},
		{"", []string{"unpack", seg2}, 1, "store: error: open segment " + seg2 + ": segment: corrupt file"},
		{"{\"column\":\"a\"}\n", []string{"assemble"}, 1, "store: error: line 1: dremel: invalid schema"},
	}
	for _, tt := range tests {
		r := runStore(t, bin, tt.stdin, tt.args...)
		if r.code != tt.code || !strings.HasPrefix(r.stderr, tt.msg) {
			t.Errorf("store %v: exit %d, stderr %q; want %d, %q", tt.args, r.code, r.stderr, tt.code, tt.msg)
		}
	}
}

func TestGencertAndFingerprint(t *testing.T) {
	bin := storeBin(t)
	prefix := filepath.Join(t.TempDir(), "store1")
	gen := runStore(t, bin, "", "gencert", "-name", "store1", "-out", prefix)
	if gen.code != 0 {
		t.Fatalf("gencert: %d %s", gen.code, gen.stderr)
	}
	fp := runStore(t, bin, "", "fingerprint", prefix+".crt")
	if fp.code != 0 || strings.TrimSpace(fp.stdout) == "" || !strings.Contains(gen.stdout, strings.TrimSpace(fp.stdout)) {
		t.Fatalf("gencert printed %q, fingerprint %q", gen.stdout, fp.stdout)
	}
	st, err := os.Stat(prefix + ".key")
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", err, st)
	}
	if again := runStore(t, bin, "", "gencert", "-name", "store1", "-out", prefix); again.code == 0 {
		t.Fatal("gencert overwrote an existing key")
	}
}
