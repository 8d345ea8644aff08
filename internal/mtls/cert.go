package mtls

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"stele/internal/durable"
)

// Key types GenerateCert makes.
const (
	KeyECDSAP256 = "p256"    // the default: every TLS client supports it
	KeyEd25519   = "ed25519" // smaller and simpler; needs OpenSSL 1.1.1 or later in curl
)

// ErrExists reports that gencert would overwrite a file.
var ErrExists = errors.New("mtls: refusing to overwrite an existing file")

// CertOptions describe a certificate to generate.
type CertOptions struct {
	Name    string   // the subject common name, and a DNS name or IP address of the certificate
	Hosts   []string // further DNS names or IP addresses
	Days    int      // validity from now; default 365
	KeyType string   // KeyECDSAP256 (default) or KeyEd25519

	// NotBefore and NotAfter, when set, replace the validity that Days
	// gives: tests make expired and not-yet-valid certificates with them.
	NotBefore, NotAfter time.Time
}

// GenerateCert makes a private key and a self-signed certificate for it,
// valid for Name, localhost, 127.0.0.1, ::1 and Hosts, usable both as a
// server and as a client certificate. It returns both PEM encoded, and the
// certificate's fingerprint.
func GenerateCert(o CertOptions) (certPEM, keyPEM []byte, fp Fingerprint, err error) {
	if o.Name == "" || strings.ContainsAny(o.Name, ", \t\n") {
		return nil, nil, fp, errors.New("mtls: a certificate needs a name without spaces or commas")
	}
	if len(o.Hosts) > maxHosts {
		return nil, nil, fp, fmt.Errorf("mtls: more than %d hosts", maxHosts)
	}
	if o.Days == 0 {
		o.Days = 365
	}
	if o.Days < 0 || o.Days > maxCertDays {
		return nil, nil, fp, fmt.Errorf("mtls: days must be between 1 and %d", maxCertDays)
	}
	var key crypto.Signer
	switch o.KeyType {
	case "", KeyECDSAP256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyEd25519:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, nil, fp, fmt.Errorf("mtls: unknown key type %q (want %s or %s)", o.KeyType, KeyECDSAP256, KeyEd25519)
	}
	if err != nil {
		return nil, nil, fp, fmt.Errorf("mtls: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fp, fmt.Errorf("mtls: serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: o.Name},
		// An hour of slack for clocks that disagree a little.
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(time.Duration(o.Days) * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		// Self-signed certificates are their own trust anchor: curl's
		// --cacert accepts them only as a CA. Stele itself admits peers by
		// fingerprint alone, never by what a certificate signed.
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	if !o.NotBefore.IsZero() {
		tmpl.NotBefore = o.NotBefore
	}
	if !o.NotAfter.IsZero() {
		tmpl.NotAfter = o.NotAfter
	}
	seen := map[string]bool{}
	for _, h := range append([]string{o.Name, "localhost", "127.0.0.1", "::1"}, o.Hosts...) {
		h = strings.TrimSpace(h)
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fp, fmt.Errorf("mtls: create certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fp, fmt.Errorf("mtls: encode key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	return certPEM, keyPEM, FingerprintDER(der), nil
}

// WriteCert generates a certificate and writes PREFIX.crt (0644) and
// PREFIX.key (0600). It refuses to overwrite either file: replacing a key
// by accident would lock out every peer that lists its certificate.
func WriteCert(prefix string, o CertOptions) (Fingerprint, error) {
	certPath, keyPath := prefix+".crt", prefix+".key"
	for _, p := range []string{certPath, keyPath} {
		if _, err := os.Lstat(p); err == nil {
			return Fingerprint{}, fmt.Errorf("%w: %s", ErrExists, p)
		}
	}
	certPEM, keyPEM, fp, err := GenerateCert(o)
	if err != nil {
		return fp, err
	}
	if err := writeNew(keyPath, keyPEM, 0o600); err != nil {
		return fp, err
	}
	if err := writeNew(certPath, certPEM, 0o644); err != nil {
		os.Remove(keyPath)
		return fp, err
	}
	return fp, nil
}

// writeNew writes a file that must not exist yet: temp file with the final
// mode from the start, fsync, link into place (failing if the name was
// taken meanwhile), fsync the directory.
func writeNew(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".gencert-*.tmp")
	if err != nil {
		return fmt.Errorf("mtls: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("mtls: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("mtls: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("mtls: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("mtls: write %s: %w", path, err)
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: %s", ErrExists, path)
		}
		return fmt.Errorf("mtls: %w", err)
	}
	// The key is written and linked; a failed directory sync only weakens
	// how it survives a power loss, so it is not reported.
	_ = durable.SyncDir(dir)
	return nil
}

// LoadKeyPair reads a certificate and its private key from PEM files.
func LoadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := readBounded(certFile, maxCertFileBytes)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("mtls: certificate: %w", err)
	}
	keyPEM, err := readBounded(keyFile, maxCertFileBytes)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("mtls: key: %w", err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("mtls: %s and %s: %w", certFile, keyFile, err)
	}
	return c, nil
}
