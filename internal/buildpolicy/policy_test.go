package buildpolicy

import (
	"bytes"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// allowedModules are the only modules besides the standard library that a
// binary may link: xxh3 and what xxh3 itself requires.
var allowedModules = map[string]bool{
	"github.com/zeebo/xxh3":         true,
	"github.com/klauspost/cpuid/v2": true,
	"golang.org/x/sys":              true,
}

var binaries = []string{"stele/supervisor", "stele/store"}

func goList(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, stderr.String())
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

func TestBinariesLinkOnlyAllowedModules(t *testing.T) {
	for _, bin := range binaries {
		mods := goList(t, "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}", bin)
		for _, m := range mods {
			if m == "stele" {
				continue
			}
			if !allowedModules[m] {
				t.Errorf("%s links module %s; only xxh3 and its own requirements are allowed", bin, m)
			}
		}
	}
}

func TestBinariesDoNotLinkTesting(t *testing.T) {
	for _, bin := range binaries {
		for _, p := range goList(t, "-deps", bin) {
			if p == "testing" || strings.HasPrefix(p, "testing/") {
				t.Errorf("%s links %s", bin, p)
			}
		}
	}
}

func TestGoModRequiresOnlyXXH3(t *testing.T) {
	direct := goList(t, "-m", "-f", "{{if not .Main}}{{if not .Indirect}}{{.Path}}{{end}}{{end}}", "all")
	for _, m := range direct {
		if m != "github.com/zeebo/xxh3" {
			t.Errorf("go.mod requires %s directly; only github.com/zeebo/xxh3 is allowed", m)
		}
	}
}

func TestEveryPackageIsDocumented(t *testing.T) {
	for _, line := range goList(t, "-f", "{{.ImportPath}}\t{{.Name}}\t{{.Doc}}", "stele/...") {
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) < 3 || parts[2] == "" {
			t.Errorf("%s has no package documentation", parts[0])
			continue
		}
		if parts[1] == "main" {
			continue
		}
		if want := "Package " + parts[1] + " "; !strings.HasPrefix(parts[2], want) {
			t.Errorf("%s: documentation should begin %q, got %q", parts[0], want, parts[2])
		}
	}
}

// TestBuildsAreReproducible builds each binary twice, as `make build` does:
// once with the usual build cache and once from scratch with an empty one,
// and compares the bytes.
func TestBuildsAreReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries twice, once from scratch")
	}
	root := strings.TrimSpace(string(must(exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output())))
	freshCache := t.TempDir()
	for _, bin := range binaries {
		var sums [2][]byte
		for i := range sums {
			out := filepath.Join(t.TempDir(), "bin")
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out, bin)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if i == 1 {
				cmd.Env = append(cmd.Env, "GOCACHE="+freshCache)
			}
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("build %s: %v\n%s", bin, err, b)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.Sum256(data)
			sums[i] = h[:]
		}
		if !bytes.Equal(sums[0], sums[1]) {
			t.Errorf("%s: two builds differ", bin)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic("buildpolicy: internal error: " + err.Error())
	}
	return v
}
