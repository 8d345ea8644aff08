package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stele/internal/leakcheck"
)

// testCert generates a key pair in memory.
func testCert(t testing.TB, o CertOptions) (tls.Certificate, Fingerprint, []byte) {
	t.Helper()
	if o.Name == "" {
		o.Name = "test"
	}
	certPEM, keyPEM, fp, err := GenerateCert(o)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c, fp, certPEM
}

func TestParseFingerprint(t *testing.T) {
	const hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	colons := "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"
	tests := []struct {
		in string
		ok bool
	}{
		{hex, true},
		{strings.ToUpper(hex), true},
		{colons, true},
		{strings.ToLower(colons), true},
		{hex[:62], false},
		{hex + "00", false},
		{"", false},
		{strings.Replace(hex, "0", "g", 1), false},
		{":" + colons[1:], false},
		{colons + ":", false},
		{strings.Replace(colons, ":", "", 1), false}, // colons on some pairs only
		{"0:0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", false},
		{strings.Replace(colons, ":", "::", 1)[:len(colons)], false},
	}
	for _, tt := range tests {
		f, err := ParseFingerprint(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseFingerprint(%q) error %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && f.String() != hex {
			t.Errorf("ParseFingerprint(%q) = %s", tt.in, f)
		}
		if !tt.ok && !errors.Is(err, ErrBadFingerprint) {
			t.Errorf("ParseFingerprint(%q) error %v, want ErrBadFingerprint", tt.in, err)
		}
	}
}

func TestGenerateCert(t *testing.T) {
	for _, kt := range []string{"", KeyECDSAP256, KeyEd25519} {
		certPEM, keyPEM, fp, err := GenerateCert(CertOptions{Name: "host-a", Hosts: []string{"a.example", "10.0.0.7"}, Days: 30, KeyType: kt})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := pem.Decode(certPEM)
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if FingerprintDER(b.Bytes) != fp {
			t.Errorf("%s: fingerprint does not match the certificate", kt)
		}
		if err := c.VerifyHostname("host-a"); err != nil {
			t.Errorf("%s: %v", kt, err)
		}
		for _, h := range []string{"localhost", "127.0.0.1", "a.example", "10.0.0.7"} {
			if err := c.VerifyHostname(h); err != nil {
				t.Errorf("%s: %v", kt, err)
			}
		}
		if d := time.Until(c.NotAfter); d < 29*24*time.Hour || d > 31*24*time.Hour {
			t.Errorf("%s: NotAfter %v", kt, c.NotAfter)
		}
		if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
			t.Errorf("%s: %v", kt, err)
		}
	}
	bad := []CertOptions{
		{},
		{Name: "a b"},
		{Name: "a,b"},
		{Name: "a", Days: -1},
		{Name: "a", Days: maxCertDays + 1},
		{Name: "a", KeyType: "rsa"},
		{Name: "a", Hosts: make([]string, maxHosts+1)},
	}
	for _, o := range bad {
		if _, _, _, err := GenerateCert(o); err == nil {
			t.Errorf("GenerateCert(%+v) succeeded", o)
		}
	}
}

func TestWriteCert(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "sup")
	fp, err := WriteCert(prefix, CertOptions{Name: "sup"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(prefix + ".key")
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", st.Mode().Perm())
	}
	got, err := FingerprintFile(prefix + ".crt")
	if err != nil || got != fp {
		t.Errorf("FingerprintFile = %s, %v; want %s", got, err, fp)
	}
	if _, err := LoadKeyPair(prefix+".crt", prefix+".key"); err != nil {
		t.Error(err)
	}
	if _, err := WriteCert(prefix, CertOptions{Name: "sup"}); !errors.Is(err, ErrExists) {
		t.Errorf("second WriteCert: %v, want ErrExists", err)
	}
	if got2, _ := FingerprintFile(prefix + ".crt"); got2 != fp {
		t.Error("a refused WriteCert changed the certificate")
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*.tmp"))
	left2, _ := filepath.Glob(filepath.Join(dir, ".*.tmp"))
	if len(left)+len(left2) > 0 {
		t.Errorf("temporary files left: %v %v", left, left2)
	}
	// A DER file works too; a file without a certificate does not.
	b, _ := pem.Decode(mustRead(t, prefix+".crt"))
	os.WriteFile(filepath.Join(dir, "c.der"), b.Bytes, 0o644)
	if got, err := FingerprintFile(filepath.Join(dir, "c.der")); err != nil || got != fp {
		t.Errorf("DER: %s, %v", got, err)
	}
	if _, err := FingerprintFile(prefix + ".key"); !errors.Is(err, ErrNoCertificate) {
		t.Errorf("key file: %v, want ErrNoCertificate", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// handshake connects a client with clientCfg to a server with serverCfg
// over 127.0.0.1 and returns the client's and the server's errors; both nil
// when the client could read what the server wrote.
func handshake(t *testing.T, serverCfg, clientCfg *tls.Config) (clientErr, serverErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		tc := tls.Server(c, serverCfg)
		if err := tc.Handshake(); err != nil {
			done <- err
			return
		}
		_, err = tc.Write([]byte("ok"))
		done <- err
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), clientCfg)
	if err == nil {
		// In TLS 1.3 a client learns of its own rejection at the first read.
		var buf [2]byte
		_, err = io.ReadFull(c, buf[:])
		c.Close()
	}
	return err, <-done
}

func TestServerAdmitsOnlyListedValidCertificates(t *testing.T) {
	leakcheck.Check(t)
	srvCert, srvFP, _ := testCert(t, CertOptions{Name: "server"})
	listed, listedFP, _ := testCert(t, CertOptions{Name: "listed"})
	unlisted, _, _ := testCert(t, CertOptions{Name: "unlisted"})
	expired, expiredFP, _ := testCert(t, CertOptions{Name: "expired", NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	future, futureFP, _ := testCert(t, CertOptions{Name: "future", NotBefore: time.Now().Add(24 * time.Hour), NotAfter: time.Now().Add(48 * time.Hour)})
	_, _, listedPEM := testCert(t, CertOptions{Name: "pem-listed"})
	list, err := ParseAllowList([]byte(listedFP.String() + "\n" + expiredFP.String() + "\n" + futureFP.String() + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	refusedc := make(chan error, 16)
	serverCfg := NewServerConfig(ServerOptions{Cert: srvCert, Allow: NewAllow(list), OnRefused: func(_ Fingerprint, err error) { refusedc <- err }})
	client := func(c tls.Certificate) *tls.Config { return NewClientConfig(ClientOptions{Cert: c, Server: srvFP}) }
	noCert := client(listed)
	noCert.GetClientCertificate = nil
	tls12 := client(listed)
	tls12.MinVersion, tls12.MaxVersion = tls.VersionTLS12, tls.VersionTLS12

	tests := []struct {
		name    string
		client  *tls.Config
		ok      bool
		refusal error // what OnRefused hears, if anything
	}{
		{"listed", client(listed), true, nil},
		{"unlisted", client(unlisted), false, ErrNotAllowed},
		{"expired", client(expired), false, ErrExpired},
		{"not yet valid", client(future), false, ErrNotYetValid},
		{"no certificate", noCert, false, nil},
		{"TLS 1.2", tls12, false, nil},
	}
	for _, tt := range tests {
		cerr, serr := handshake(t, serverCfg, tt.client)
		if (cerr == nil && serr == nil) != tt.ok {
			t.Errorf("%s: client %v, server %v; want ok=%v", tt.name, cerr, serr, tt.ok)
		}
		if tt.refusal != nil {
			select {
			case err := <-refusedc:
				if !errors.Is(err, tt.refusal) {
					t.Errorf("%s: refused with %v, want %v", tt.name, err, tt.refusal)
				}
			default:
				t.Errorf("%s: OnRefused not called", tt.name)
			}
		}
	}
	if len(refusedc) != 0 {
		t.Errorf("OnRefused called %d more times than expected", len(refusedc))
	}

	// A PEM entry admits its certificate; swapping the list takes effect at
	// the next handshake.
	pemList, err := ParseAllowList(listedPEM)
	if err != nil {
		t.Fatal(err)
	}
	allow := NewAllow(&AllowList{})
	serverCfg = NewServerConfig(ServerOptions{Cert: srvCert, Allow: allow})
	if cerr, _ := handshake(t, serverCfg, client(listed)); cerr == nil {
		t.Error("empty allow list admitted a client")
	}
	allow.Store(list)
	if cerr, serr := handshake(t, serverCfg, client(listed)); cerr != nil || serr != nil {
		t.Errorf("after Store: %v, %v", cerr, serr)
	}
	if !pemList.Contains(FingerprintDER(mustDER(t, listedPEM))) || pemList.Len() != 1 {
		t.Error("PEM entry not admitted")
	}
}

func mustDER(t *testing.T, p []byte) []byte {
	b, _ := pem.Decode(p)
	if b == nil {
		t.Fatal("no PEM")
	}
	return b.Bytes
}

func TestSwapKeepsEstablishedConnections(t *testing.T) {
	leakcheck.Check(t)
	srvCert, srvFP, _ := testCert(t, CertOptions{Name: "server"})
	cl, clFP, _ := testCert(t, CertOptions{Name: "client"})
	list, _ := ParseAllowList([]byte(clFP.String()))
	allow := NewAllow(list)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", NewServerConfig(ServerOptions{Cert: srvCert, Allow: allow}))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		// Echo until the client closes.
		_, err = io.Copy(c, c)
		served <- err
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), NewClientConfig(ClientOptions{Cert: cl, Server: srvFP}))
	if err != nil {
		t.Fatal(err)
	}
	echo := func(s string) error {
		if _, err := c.Write([]byte(s)); err != nil {
			return err
		}
		buf := make([]byte, len(s))
		if _, err := io.ReadFull(c, buf); err != nil {
			return err
		}
		if string(buf) != s {
			return errors.New("echo mismatch")
		}
		return nil
	}
	if err := echo("before"); err != nil {
		t.Fatal(err)
	}
	allow.Store(&AllowList{})
	if err := echo("after the client was removed"); err != nil {
		t.Fatalf("established connection broken by a swap: %v", err)
	}
	c.Close()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

func TestClientPinsServer(t *testing.T) {
	leakcheck.Check(t)
	srvCert, srvFP, _ := testCert(t, CertOptions{Name: "server"})
	other, otherFP, _ := testCert(t, CertOptions{Name: "other"})
	old, oldFP, _ := testCert(t, CertOptions{Name: "old", NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	cl, clFP, _ := testCert(t, CertOptions{Name: "client", KeyType: KeyEd25519})
	list, _ := ParseAllowList([]byte(clFP.String()))
	tests := []struct {
		name   string
		server tls.Certificate
		pin    Fingerprint
		want   error
	}{
		{"pinned", srvCert, srvFP, nil},
		{"other server", other, srvFP, ErrPinMismatch},
		{"expired server", old, oldFP, ErrExpired},
		{"pin of another", srvCert, otherFP, ErrPinMismatch},
	}
	for _, tt := range tests {
		cerr, _ := handshake(t, NewServerConfig(ServerOptions{Cert: tt.server, Allow: NewAllow(list)}), NewClientConfig(ClientOptions{Cert: cl, Server: tt.pin}))
		if tt.want == nil && cerr != nil || tt.want != nil && !errors.Is(cerr, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, cerr, tt.want)
		}
	}
}

func TestPeerFingerprint(t *testing.T) {
	if _, ok := PeerFingerprint(nil); ok {
		t.Error("nil state has a fingerprint")
	}
	if _, ok := PeerFingerprint(&tls.ConnectionState{}); ok {
		t.Error("no certificates, yet a fingerprint")
	}
	_, fp, certPEM := testCert(t, CertOptions{})
	c, _ := x509.ParseCertificate(mustDER(t, certPEM))
	if got, ok := PeerFingerprint(&tls.ConnectionState{PeerCertificates: []*x509.Certificate{c}}); !ok || got != fp {
		t.Error("wrong fingerprint")
	}
}
