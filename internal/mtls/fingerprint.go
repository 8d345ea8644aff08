package mtls

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
)

var (
	// ErrBadFingerprint reports text that is not 32 bytes of hex.
	ErrBadFingerprint = errors.New("mtls: malformed fingerprint: want 64 hex digits, colons optional")
	// ErrNoCertificate reports a file or block holding no certificate.
	ErrNoCertificate = errors.New("mtls: no certificate found")
	// ErrTooLarge reports a file beyond this package's size limits.
	ErrTooLarge = errors.New("mtls: file too large")
)

// Fingerprint is the SHA-256 of a DER certificate.
type Fingerprint [sha256.Size]byte

// FingerprintDER returns the fingerprint of a DER certificate.
func FingerprintDER(der []byte) Fingerprint { return sha256.Sum256(der) }

// String returns the fingerprint as 64 lowercase hex digits.
func (f Fingerprint) String() string { return hex.EncodeToString(f[:]) }

// ParseFingerprint accepts 64 hex digits in either case, optionally with a
// colon between each pair (as `openssl x509 -fingerprint` prints them).
func ParseFingerprint(s string) (Fingerprint, error) {
	var f Fingerprint
	var digits [2 * sha256.Size]byte
	n := 0
	colons := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ':' {
			// A colon only ever separates two pairs.
			if n == 0 || n%2 != 0 || i == len(s)-1 || (i > 0 && s[i-1] == ':') {
				return f, ErrBadFingerprint
			}
			colons = true
			continue
		}
		if n == len(digits) {
			return f, ErrBadFingerprint
		}
		digits[n] = c
		n++
	}
	if n != len(digits) {
		return f, ErrBadFingerprint
	}
	if colons && len(s) != len(digits)+sha256.Size-1 {
		return f, ErrBadFingerprint // colons must be between every pair, not some
	}
	if _, err := hex.Decode(f[:], digits[:]); err != nil {
		return Fingerprint{}, ErrBadFingerprint
	}
	return f, nil
}

// FingerprintPEM returns the fingerprint of the first certificate in a PEM
// file's contents, or of data itself when it holds no PEM and looks like DER.
func FingerprintPEM(data []byte) (Fingerprint, error) {
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			return FingerprintDER(b.Bytes), nil
		}
	}
	// A DER certificate is an ASN.1 SEQUENCE.
	if len(data) > 0 && data[0] == 0x30 {
		return FingerprintDER(data), nil
	}
	return Fingerprint{}, ErrNoCertificate
}

// FingerprintFile returns the fingerprint of the certificate in a PEM (or
// DER) file: what `supervisor fingerprint FILE` prints.
func FingerprintFile(path string) (Fingerprint, error) {
	data, err := readBounded(path, maxCertFileBytes)
	if err != nil {
		return Fingerprint{}, err
	}
	f, err := FingerprintPEM(data)
	if err != nil {
		return Fingerprint{}, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// PeerFingerprint returns the fingerprint of the certificate the peer of a
// connection presented; ok is false when it presented none.
func PeerFingerprint(cs *tls.ConnectionState) (f Fingerprint, ok bool) {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return Fingerprint{}, false
	}
	return FingerprintDER(cs.PeerCertificates[0].Raw), true
}

// readBounded reads a whole file of at most limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %w (limit %d bytes)", path, ErrTooLarge, limit)
	}
	return b, nil
}
