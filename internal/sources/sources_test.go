package sources

import (
	"errors"
	"strings"
	"testing"
)

const fp = "3f9a0b1c2d3e4f50617283940a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2ce1"

func TestParse(t *testing.T) {
	good := "# sources\n\nweb1 https://web1.example.com:7443 " + fp + "  # main\n" +
		"web-2.eu https://10.0.0.12:7443/ " + strings.ToUpper(fp) + "\n"
	list, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "web1" || list[0].URL != "https://web1.example.com:7443" ||
		list[1].URL != "https://10.0.0.12:7443" || list[0].Fingerprint != list[1].Fingerprint {
		t.Fatalf("parsed %+v", list)
	}
	bad := []struct{ in, want string }{
		{"web1 https://a:1", "line 1: want NAME URL FINGERPRINT"},
		{"\n\nweb1 http://a:1 " + fp, "line 3: URL \"http://a:1\": want https://"},
		{"web1 https://a:1/x " + fp, "want https://HOST[:PORT]"},
		{"web1 https://a:1?q=1 " + fp, "want https://HOST[:PORT]"},
		{"web1 https://u@a:1 " + fp, "want https://HOST[:PORT]"},
		{"web1 https://a:99999 " + fp, "bad port"},
		{"web1 https:// " + fp, "want https://HOST[:PORT]"},
		{"we/b https://a:1 " + fp, "name \"we/b\""},
		{strings.Repeat("n", 65) + " https://a:1 " + fp, "name"},
		{"store https://a:1 " + fp, "is the store's own"},
		{"web1 https://a:1 abc", "fingerprint \"abc\""},
		{"web1 https://a:1 " + fp + "\nweb1 https://b:1 " + fp, "line 2: name \"web1\" already used on line 1"},
		{"web1 https://a:1 " + fp + "\nweb2 https://a:1 " + fp, "line 2: URL https://a:1 already used on line 1"},
	}
	for _, tt := range bad {
		_, err := Parse([]byte(tt.in))
		if err == nil || !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v; want an error containing %q", tt.in, err, tt.want)
		}
	}
}

func TestDiff(t *testing.T) {
	a := Source{Name: "a", URL: "https://a:1"}
	b := Source{Name: "b", URL: "https://b:1"}
	b2 := Source{Name: "b", URL: "https://b:2"}
	c := Source{Name: "c", URL: "https://c:1"}
	added, removed, changed := Diff([]Source{a, b}, []Source{b2, c})
	if len(added) != 1 || added[0] != c || len(removed) != 1 || removed[0] != a || len(changed) != 1 || changed[0] != b2 {
		t.Fatalf("added %v removed %v changed %v", added, removed, changed)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("web1 https://web1.example.com:7443 " + fp + " # x\n"))
	f.Add([]byte("#\n\n a b c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		list, err := Parse(data)
		if err != nil {
			return
		}
		for _, s := range list {
			if !validName(s.Name) || !strings.HasPrefix(s.URL, "https://") || strings.ContainsAny(s.URL[8:], "/?#@ ") {
				t.Fatalf("accepted %+v", s)
			}
		}
	})
}
