package jsonscan

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// reference computes, slowly and with encoding/json, math/big and time,
// the Result that Scan must return. It shares no code with the scanner.
func reference(line []byte) Result {
	r := Result{UTF8: utf8.Valid(line)}
	trimmed := bytes.TrimLeft(line, " \t\r\n")
	if !json.Valid(line) || len(trimmed) == 0 || trimmed[0] != '{' {
		return r
	}
	r.Object = true

	// The first top-level value of each key, found by its raw spelling.
	first := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		panic("reference: valid object has no '{': " + err.Error())
	}
	for dec.More() {
		start := dec.InputOffset()
		if _, err := dec.Token(); err != nil {
			panic("reference: key: " + err.Error())
		}
		raw := string(bytes.TrimLeft(line[start:dec.InputOffset()], " \t\r\n,"))
		var v any
		if err := dec.Decode(&v); err != nil {
			panic("reference: value: " + err.Error())
		}
		// The raw spelling of a key without escapes is the key in quotes.
		key := strings.Trim(raw, `"`)
		if `"`+key+`"` != raw {
			continue
		}
		if _, seen := first[key]; !seen {
			// Keep the raw string value to see escapes.
			if s, ok := v.(string); ok {
				v = rawString{s: s, escaped: valueHasEscape(line, dec, s)}
			}
			first[key] = v
		}
	}

	if v, ok := first["time_ns"]; ok {
		r.TimeNSKey = true
		if n, ok := v.(json.Number); ok && regexp.MustCompile(`^[0-9]+$`).MatchString(string(n)) {
			if ns, ok := refInteger(string(n)); ok {
				r.HasTime, r.TimeNS, r.TimeKey = true, ns, "time_ns"
			}
		}
		return r
	}
	for _, key := range []string{"time", "ts"} {
		var ns int64
		var ok bool
		switch v := first[key].(type) {
		case json.Number:
			ns, ok = refNumber(string(v))
		case rawString:
			ns, ok = refString(v)
		}
		if ok {
			r.HasTime, r.TimeNS, r.TimeKey = true, ns, key
			return r
		}
	}
	return r
}

type rawString struct {
	s       string
	escaped bool
}

// valueHasEscape reports whether the string value just decoded was written
// with escapes: its raw text is longer than its quoted contents.
func valueHasEscape(line []byte, dec *json.Decoder, s string) bool {
	end := int(dec.InputOffset())
	raw := bytes.TrimRight(line[:end], " \t\r\n")
	return !bytes.HasSuffix(raw, []byte(`"`+s+`"`))
}

var (
	ns1e9   = big.NewRat(1e9, 1)
	maxNS   = new(big.Rat).SetInt64(math.MaxInt64)
	bound11 = big.NewRat(1e11, 1)
	bound14 = big.NewRat(1e14, 1)
	bound17 = big.NewRat(1e17, 1)
)

func refInteger(s string) (int64, bool) {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok || !v.IsInt64() || v.Sign() < 0 {
		return 0, false
	}
	return v.Int64(), true
}

// refNumber applies the magnitude rule of the package documentation with
// exact rational arithmetic.
func refNumber(s string) (int64, bool) {
	if strings.HasPrefix(s, "-") {
		return 0, false
	}
	// big.Rat would build 10^exponent; keep fuzz inputs from asking for
	// astronomically large powers, whose answer is known anyway.
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, ok := new(big.Int).SetString(strings.TrimPrefix(s[i+1:], "+"), 10)
		if !ok {
			return 0, false
		}
		// The mantissa lies in [10^-len(s), 10^len(s)) unless it is zero.
		limit := big.NewInt(int64(len(s) + 100))
		if e.Cmp(limit) > 0 {
			return 0, strings.Trim(s[:i], "0.") == ""
		}
		if e.Cmp(new(big.Int).Neg(limit)) < 0 {
			return 0, true
		}
	}
	v, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, false
	}
	var scale *big.Rat
	switch {
	case v.Cmp(bound11) < 0:
		scale = ns1e9
	case v.Cmp(bound14) < 0:
		scale = big.NewRat(1e6, 1)
	case v.Cmp(bound17) < 0:
		scale = big.NewRat(1e3, 1)
	default:
		scale = big.NewRat(1, 1)
	}
	v.Mul(v, scale)
	if v.Cmp(maxNS) > 0 {
		return 0, false
	}
	q := new(big.Int).Quo(v.Num(), v.Denom()) // floor, as v >= 0
	return q.Int64(), true
}

var timeShape = regexp.MustCompile(`^(\d{4}-\d\d-\d\d)[Tt ](\d\d:\d\d:\d\d)(?:[.,](\d+))?(?:([Zz])|([+-]\d\d):?(\d\d))$`)

// refString rewrites the accepted spellings into the one time.Parse takes.
func refString(v rawString) (int64, bool) {
	m := timeShape.FindStringSubmatch(v.s)
	if v.escaped || m == nil {
		return 0, false
	}
	canon := m[1] + "T" + m[2]
	if m[3] != "" {
		canon += "." + m[3]
	}
	if m[4] != "" {
		canon += "Z"
	} else {
		// time.Parse's lenient fallback takes offsets like +24:00 that
		// RFC 3339 forbids and Scan rejects.
		if m[5][1:] > "23" || m[6] > "59" {
			return 0, false
		}
		canon += m[5] + ":" + m[6]
	}
	t, err := time.Parse(time.RFC3339Nano, canon)
	if err != nil {
		return 0, false
	}
	sec, nsec := t.Unix(), int64(t.Nanosecond())
	if sec < 0 || sec > (math.MaxInt64-nsec)/1e9 {
		return 0, false
	}
	return sec*1e9 + nsec, true
}

// checkReference fails t when Scan disagrees with reference on line.
func checkReference(t *testing.T, line []byte) {
	t.Helper()
	got, want := Scan(line), reference(line)
	if got != want {
		t.Fatalf("Scan(%q)\n got  %+v\n want %+v (reference)", line, got, want)
	}
}
