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

// cell returns v, a value of the field at path, as the client may see it:
// its token if the field holds personal data; JSON kept whole (arrays of
// mixed classes, objects past dremel.MaxFieldDepth) with the personal data
// inside it as tokens, as in events.
func (t *Tokenizer) cell(path []string, v Val) Val {
	switch {
	case v.Kind == Null:
		return v
	case isPII(path):
		return t.token(v)
	case v.Kind == JSON:
		d, err := dremel.ParseJSON(v.S)
		if err != nil {
			return t.token(v) // what cannot be checked is not shown
		}
		t.event(&d, false)
		return Val{Kind: JSON, S: string(dremel.AppendJSON(nil, d))}
	}
	return v
}

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
		if inPII {
			tok := t.Token(fromDremel(v))
			*v = dremel.Value{Kind: dremel.KindString, Str: tok}
		}
	}
}
