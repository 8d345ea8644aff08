package mtls

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
)

// ErrAllowSyntax is wrapped by every *LineError.
var ErrAllowSyntax = errors.New("mtls: allow file syntax error")

// LineError is a mistake on one line of an allow file.
type LineError struct {
	Line int // 1-based
	Msg  string
}

func (e *LineError) Error() string { return "line " + strconv.Itoa(e.Line) + ": " + e.Msg }

// Unwrap lets callers match any syntax error with errors.Is(err, ErrAllowSyntax).
func (e *LineError) Unwrap() error { return ErrAllowSyntax }

// AllowList is an immutable set of admitted certificate fingerprints, each
// with the tags its line gave it. The zero value admits no one.
type AllowList struct {
	entries map[Fingerprint][]string
}

// Len returns the number of distinct fingerprints admitted.
func (a *AllowList) Len() int {
	if a == nil {
		return 0
	}
	return len(a.entries)
}

// Contains reports whether f is admitted.
func (a *AllowList) Contains(f Fingerprint) bool {
	if a == nil {
		return false
	}
	_, ok := a.entries[f]
	return ok
}

// HasTag reports whether f is admitted with tag (e.g. the store's "pii").
func (a *AllowList) HasTag(f Fingerprint, tag string) bool {
	if a == nil {
		return false
	}
	for _, t := range a.entries[f] {
		if t == tag {
			return true
		}
	}
	return false
}

// ParseAllowList parses an allow file:
//
//	# comment: '#' to the end of a line is ignored, as are blank lines
//	3f1c...e9                       one fingerprint per line, 64 hex digits
//	3F:1C:...:E9                    the same with colons, either case
//	3f1c...e9 pii                   a fingerprint with tags, when tags allows them
//	-----BEGIN CERTIFICATE-----     or a whole PEM certificate, admitted by
//	MIIB...                         its fingerprint
//	-----END CERTIFICATE-----
//
// tags lists the words that may follow a fingerprint (none for the
// supervisor, "pii" for the store's query API); a PEM entry has no tags.
// Listing the same certificate twice is allowed; the tags of its lines
// are merged. Errors are *LineError, or ErrTooLarge.
func ParseAllowList(data []byte, tags ...string) (*AllowList, error) {
	if len(data) > MaxAllowFileBytes {
		return nil, fmt.Errorf("%w: allow file over %d bytes", ErrTooLarge, MaxAllowFileBytes)
	}
	a := &AllowList{entries: map[Fingerprint][]string{}}
	count := 0
	add := func(line int, f Fingerprint, t []string) error {
		count++
		if count > MaxAllowEntries {
			return &LineError{line, fmt.Sprintf("more than %d entries", MaxAllowEntries)}
		}
		old := a.entries[f]
		for _, w := range t {
			if !contains(old, w) {
				old = append(old, w)
			}
		}
		if old == nil {
			old = []string{}
		}
		a.entries[f] = old
		return nil
	}
	lineNo := 0
	rest := data
	for len(rest) > 0 {
		var raw []byte
		raw, rest = cutLine(rest)
		lineNo++
		text := raw
		if i := bytes.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		text = bytes.TrimSpace(text)
		if len(text) == 0 {
			continue
		}
		if bytes.HasPrefix(text, []byte("-----BEGIN ")) {
			start := lineNo
			block, n, err := collectPEM(text, rest, start)
			if err != nil {
				return nil, err
			}
			for range n {
				_, rest = cutLine(rest)
			}
			lineNo += n
			if err := add(start, FingerprintDER(block), nil); err != nil {
				return nil, err
			}
			continue
		}
		fields := strings.Fields(string(text))
		f, err := ParseFingerprint(fields[0])
		if err != nil {
			return nil, &LineError{lineNo, fmt.Sprintf("%s is not a fingerprint (64 hex digits, colons optional) or a PEM certificate", quoteClip(fields[0]))}
		}
		for _, w := range fields[1:] {
			if !contains(tags, w) {
				if len(tags) == 0 {
					return nil, &LineError{lineNo, fmt.Sprintf("unexpected %s after the fingerprint", quoteClip(w))}
				}
				return nil, &LineError{lineNo, fmt.Sprintf("unknown tag %s (known: %s)", quoteClip(w), strings.Join(tags, ", "))}
			}
		}
		if err := add(lineNo, f, fields[1:]); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// collectPEM gathers the PEM block that begin (already trimmed) opens from
// the following lines in rest, returning the DER certificate and how many
// lines of rest it used.
func collectPEM(begin, rest []byte, line int) ([]byte, int, error) {
	if string(begin) != "-----BEGIN CERTIFICATE-----" {
		return nil, 0, &LineError{line, fmt.Sprintf("%s: only certificates belong in an allow file", quoteClip(string(begin)))}
	}
	var buf bytes.Buffer
	buf.Write(begin)
	buf.WriteByte('\n')
	n := 0
	for len(rest) > 0 {
		var raw []byte
		raw, rest = cutLine(rest)
		n++
		text := bytes.TrimSpace(raw)
		buf.Write(text)
		buf.WriteByte('\n')
		if buf.Len() > maxPEMBytes {
			return nil, 0, &LineError{line, fmt.Sprintf("PEM block over %d bytes", maxPEMBytes)}
		}
		if string(text) == "-----END CERTIFICATE-----" {
			b, trailing := pem.Decode(buf.Bytes())
			if b == nil || len(bytes.TrimSpace(trailing)) != 0 || len(b.Headers) != 0 {
				return nil, 0, &LineError{line, "malformed PEM certificate"}
			}
			if _, err := x509.ParseCertificate(b.Bytes); err != nil {
				return nil, 0, &LineError{line, "PEM block is not a valid certificate: " + clip(err.Error())}
			}
			return b.Bytes, n, nil
		}
	}
	return nil, 0, &LineError{line, "PEM certificate without its END line"}
}

func cutLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}

func contains(list []string, s string) bool {
	for _, t := range list {
		if t == s {
			return true
		}
	}
	return false
}

// clip shortens text put in an error so a hostile file cannot make error
// messages (and the events that carry them) large.
func clip(s string) string {
	if len(s) > maxErrorText {
		return s[:maxErrorText] + "..."
	}
	return s
}

// quoteClip quotes s for an error in ASCII, with at most maxErrorText
// characters between the quotes: escapes count as what they print, up to
// four times the bytes they stand for, so s is clipped after quoting, and
// never inside an escape.
func quoteClip(s string) string {
	q := strconv.QuoteToASCII(s)
	if len(q) <= maxErrorText+2 {
		return q
	}
	i := 1 // after the opening quote
	for i < len(q)-1 {
		n := 1
		if q[i] == '\\' && i+1 < len(q) {
			switch q[i+1] {
			case 'x':
				n = 4
			case 'u':
				n = 6
			case 'U':
				n = 10
			default:
				n = 2
			}
		}
		if i+n > maxErrorText+1 {
			break
		}
		i += n
	}
	return q[:i] + `..."`
}

// LoadAllowList reads and parses an allow file of at most MaxAllowFileBytes.
func LoadAllowList(path string, tags ...string) (*AllowList, error) {
	data, err := readBounded(path, MaxAllowFileBytes)
	if err != nil {
		return nil, fmt.Errorf("allow file: %w", err)
	}
	a, err := ParseAllowList(data, tags...)
	if err != nil {
		return nil, fmt.Errorf("allow file %s: %w", path, err)
	}
	return a, nil
}

// Allow holds the allow list in force. Servers read it at every handshake;
// Store replaces it atomically, so a reload (SIGHUP) affects only
// handshakes that start afterwards and never an established connection.
type Allow struct {
	p atomic.Pointer[AllowList]
}

// NewAllow returns an Allow holding list.
func NewAllow(list *AllowList) *Allow {
	a := &Allow{}
	a.Store(list)
	return a
}

// Load returns the list in force; never nil.
func (a *Allow) Load() *AllowList {
	if l := a.p.Load(); l != nil {
		return l
	}
	return &AllowList{}
}

// Store puts list in force.
func (a *Allow) Store(list *AllowList) { a.p.Store(list) }
