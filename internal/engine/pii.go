package engine

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"stele/internal/dremel"
	"stele/internal/durable"
	"stele/internal/query"
)

// piiPrefix marks keys that hold personal data (DESIGN section 1).
const piiPrefix = "pii_"

// secretBytes is the size of the tokens' HMAC key.
const secretBytes = 32

// Tokenizer replaces personal data by stable tokens for clients without
// the pii flag: "pii:" and the first 16 bytes of HMAC-SHA256(secret, value)
// in hex. The value is encoded with its kind, so "1" and 1 differ. A nil
// *Tokenizer is a client that sees raw values.
type Tokenizer struct {
	key []byte
}

// NewTokenizer returns a tokenizer keyed by secret.
func NewTokenizer(secret []byte) *Tokenizer { return &Tokenizer{key: secret} }

// LoadSecret reads the tokens' secret from path, creating it (random,
// mode 0600, written atomically) the first time, so tokens stay the same
// across restarts.
func LoadSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != secretBytes {
			return nil, fmt.Errorf("engine: %s: %d bytes, want %d", path, len(b), secretBytes)
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("engine: %w", err)
	}
	secret := make([]byte, secretBytes)
	rand.Read(secret)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pii-secret.tmp*")
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	_, err = tmp.Write(secret)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp.Name(), path) // never replaces a secret another process wrote
	}
	os.Remove(tmp.Name())
	if errors.Is(err, os.ErrExist) {
		return LoadSecret(path)
	}
	if err == nil {
		err = durable.SyncDir(filepath.Dir(path))
	}
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	return secret, nil
}

// Token returns the token of v.
func (t *Tokenizer) Token(v Val) string {
	m := hmac.New(sha256.New, t.key)
	m.Write(appendKey(nil, v))
	return "pii:" + hex.EncodeToString(m.Sum(nil)[:16])
}

func (t *Tokenizer) token(v Val) Val { return Val{Kind: Str, S: t.Token(v)} }

// isPII reports whether a field holds personal data: a key on its path
// starts with pii_.
func isPII(path []string) bool {
	for _, k := range path {
		if strings.HasPrefix(k, piiPrefix) {
			return true
		}
	}
	return false
}

// view returns the tokenizer a condition on f must compare through, or
// nil if f is not personal data or the client may see it. A client
// without pii may only test pii fields for equality with tokens (eqOK);
// anything else would reveal raw values.
func (t *Tokenizer) view(f query.Field, eqOK bool, what string) (*Tokenizer, error) {
	if t == nil || !isPII(f.Path) {
		return nil, nil
	}
	if !eqOK {
		return nil, query.ErrorAt(f.Pos, "%s holds personal data: without pii access you cannot %s; match it by the pii:… tokens results show, with = or in", f, what)
	}
	return t, nil
}

// checkToken refuses a raw literal on a pii field: the client must give a
// token it was shown.
func (t *Tokenizer) checkToken(f query.Field, v *query.Value) error {
	if v.Kind == query.String && len(v.Str) == len("pii:")+32 && strings.HasPrefix(v.Str, "pii:") {
		if _, err := hex.DecodeString(v.Str[4:]); err == nil {
			return nil
		}
	}
	return query.ErrorAt(v.Pos, "%s holds personal data: without pii access compare it with a pii:… token from results, not a raw value", f)
}

// event rewrites a record's personal data in place as tokens.
func (t *Tokenizer) event(v *dremel.Value, inPII bool) {
	switch v.Kind {
	case dremel.KindObject:
		for i := range v.Members {
			m := &v.Members[i]
			t.event(&m.Value, inPII || strings.HasPrefix(m.Key, piiPrefix))
		}
	case dremel.KindArray:
		for i := range v.Elems {
			t.event(&v.Elems[i], inPII)
		}
	default:
		if inPII && v.Kind != dremel.KindNull {
			tok := t.Token(fromDremel(v))
			*v = dremel.Value{Kind: dremel.KindString, Str: tok}
		} else if v.Kind == dremel.KindRaw {
			v.Str = t.inJSON(v.Str)
		}
	}
}

// record rewrites a whole record's personal data in place as tokens.
func (t *Tokenizer) record(v *dremel.Value) {
	t.event(v, false)
	for i := range v.Members {
		m := &v.Members[i]
		if wrappedPII([]string{m.Key}, fromDremel(&m.Value)) {
			m.Value = dremel.Value{Kind: dremel.KindString, Str: t.Token(fromDremel(&m.Value))}
		}
	}
}

// wrappedPII reports whether v, at path, is the text of a line that was
// not a JSON event (wrapped as _line or _line_b64 by the supervisor or the
// store) and may hold personal data: its keys could not mark it, so a
// _line that mentions pii_ is treated as personal data, and so is every
// _line_b64 (bytes that are not text, which no one can check).
func wrappedPII(path []string, v Val) bool {
	if !wrappedLine(path) || v.Kind != Str {
		return false
	}
	return path[0] == "_line" && strings.Contains(v.S, piiPrefix) || path[0] == "_line_b64"
}

// wrappedLine reports whether path is where a line that was not an event
// is kept whole: _line, or _line_b64.
func wrappedLine(path []string) bool {
	return len(path) == 1 && (path[0] == "_line" || path[0] == "_line_b64")
}

// cell returns the value of the field at path as the client may see it:
// personal data as a token (null stays null).
func (t *Tokenizer) cell(path []string, v Val) Val {
	switch {
	case v.Kind == Null:
		return v
	case isPII(path), wrappedPII(path, v):
		return t.token(v)
	case v.Kind == JSON:
		v.S = t.inJSON(v.S)
	}
	return v
}

// inJSON returns JSON text kept whole (a json leaf, or the array of a
// field's values) with the values under pii_ keys inside it as tokens,
// one per scalar. The columns never see such keys, so without this a
// value like [[1],{"pii_email":"..."}] would leave raw.
func (t *Tokenizer) inJSON(s string) string {
	if !strings.Contains(s, piiPrefix) { // kept text is compact: keys are never escaped
		return s
	}
	v, err := dremel.ParseJSON(s)
	if err != nil {
		return t.Token(Val{Kind: JSON, S: s}) // cannot happen; never let it out raw
	}
	t.event(&v, false)
	return string(dremel.AppendJSON(nil, v))
}
