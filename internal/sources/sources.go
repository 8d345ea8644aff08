// Package sources reads the store's sources file: which supervisors to pull
// from, where, and which server certificate each must present.
//
//	# NAME   URL                           FINGERPRINT (SHA-256 of the server certificate)
//	web1     https://web1.example.com:7443  3f9a...e1
//	web2     https://10.0.0.12:7443         b7c2...09   # comments may follow
//
// One source per line; blank lines and '#' comments are ignored. NAME is
// 1 to 64 of [A-Za-z0-9_.-] and becomes every stored event's _source, so
// names are unique; "store" is taken by the store's own events. URL is
// https:// with a host and no path beyond "/", query or fragment; the store
// adds /chunk/. FINGERPRINT is 64 hex digits, colons optional.
package sources

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"

	"stele/internal/mtls"
)

// ReservedName is the _source of the store's own events.
const ReservedName = "store"

// ErrSyntax is wrapped by every *LineError.
var ErrSyntax = errors.New("sources: syntax error")

// LineError is a mistake on one line of a sources file.
type LineError struct {
	Line int // 1-based
	Msg  string
}

func (e *LineError) Error() string { return "line " + strconv.Itoa(e.Line) + ": " + e.Msg }

// Unwrap lets callers match with errors.Is(err, ErrSyntax).
func (e *LineError) Unwrap() error { return ErrSyntax }

// Source is one supervisor to pull from.
type Source struct {
	Name        string
	URL         string // https://host[:port], without a trailing slash
	Fingerprint mtls.Fingerprint
}

// Parse reads a sources file. The whole file is rejected on any error, so a
// reload never applies half a file.
func Parse(data []byte) ([]Source, error) {
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%w: file larger than %d bytes", ErrSyntax, MaxFileBytes)
	}
	var out []Source
	names := map[string]int{}
	urls := map[string]int{}
	for n := 1; len(data) > 0; n++ {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		if i := bytes.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(string(line))
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 3 {
			return nil, &LineError{n, fmt.Sprintf("want NAME URL FINGERPRINT, got %d fields: %q", len(fields), clip(string(line)))}
		}
		s, err := parseSource(fields)
		if err != nil {
			return nil, &LineError{n, err.Error()}
		}
		if prev, dup := names[s.Name]; dup {
			return nil, &LineError{n, fmt.Sprintf("name %q already used on line %d", s.Name, prev)}
		}
		if prev, dup := urls[s.URL]; dup {
			return nil, &LineError{n, fmt.Sprintf("URL %s already used on line %d", s.URL, prev)}
		}
		if len(out) == MaxSources {
			return nil, &LineError{n, fmt.Sprintf("more than %d sources", MaxSources)}
		}
		names[s.Name], urls[s.URL] = n, n
		out = append(out, s)
	}
	return out, nil
}

func parseSource(f []string) (Source, error) {
	name, rawURL, rawFP := f[0], f[1], f[2]
	if len(name) > maxNameLen || !validName(name) {
		return Source{}, fmt.Errorf("name %q: want 1 to %d of A-Z a-z 0-9 _ . -", clip(name), maxNameLen)
	}
	if name == ReservedName {
		return Source{}, fmt.Errorf("name %q is the store's own", name)
	}
	u, err := url.Parse(rawURL)
	switch {
	case err != nil:
		return Source{}, fmt.Errorf("URL %q: %v", clip(rawURL), err)
	case u.Scheme != "https":
		return Source{}, fmt.Errorf("URL %q: want https://", clip(rawURL))
	case u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return Source{}, fmt.Errorf("URL %q: want https://HOST[:PORT] with nothing after it", clip(rawURL))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return Source{}, fmt.Errorf("URL %q: bad port", clip(rawURL))
		}
	}
	fp, err := mtls.ParseFingerprint(rawFP)
	if err != nil {
		return Source{}, fmt.Errorf("fingerprint %q: want the 64 hex digits `supervisor fingerprint` prints", clip(rawFP))
	}
	return Source{Name: name, URL: "https://" + u.Host, Fingerprint: fp}, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > maxErrorText {
		return s[:maxErrorText] + "..."
	}
	return s
}

// Load reads and parses the sources file at path.
func Load(path string) ([]Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sources: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("sources: read %s: %w", path, err)
	}
	list, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("sources: %s: %w", path, err)
	}
	return list, nil
}

// Diff compares two lists by name: sources to start, to stop, and to
// restart because their URL or fingerprint changed.
func Diff(old, cur []Source) (added, removed, changed []Source) {
	before := map[string]Source{}
	for _, s := range old {
		before[s.Name] = s
	}
	seen := map[string]bool{}
	for _, s := range cur {
		seen[s.Name] = true
		switch o, ok := before[s.Name]; {
		case !ok:
			added = append(added, s)
		case o != s:
			changed = append(changed, s)
		}
	}
	for _, s := range old {
		if !seen[s.Name] {
			removed = append(removed, s)
		}
	}
	return added, removed, changed
}
