package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

var (
	// ErrNotAllowed reports a client certificate missing from the allow list.
	ErrNotAllowed = errors.New("mtls: certificate not in the allow list")
	// ErrPinMismatch reports a server certificate other than the pinned one.
	ErrPinMismatch = errors.New("mtls: server certificate does not match the pinned fingerprint")
	// ErrExpired reports a certificate past its NotAfter.
	ErrExpired = errors.New("mtls: certificate expired")
	// ErrNotYetValid reports a certificate before its NotBefore.
	ErrNotYetValid = errors.New("mtls: certificate not yet valid")
	// ErrNoPeerCertificate reports a peer that presented no certificate.
	ErrNoPeerCertificate = errors.New("mtls: no certificate presented")
)

// ServerOptions configure NewServerConfig.
type ServerOptions struct {
	Cert  tls.Certificate // the server's own certificate and key
	Allow *Allow          // the clients admitted; read at every handshake

	// Now is the clock for validity checks; default time.Now.
	Now func() time.Time
	// OnRefused, if set, is called for every refused client certificate
	// (from the handshake's goroutine; it must not block).
	OnRefused func(fp Fingerprint, err error)
}

// NewServerConfig returns a TLS 1.3 server config that requires a client
// certificate and admits it only if its fingerprint is in the allow list in
// force and it is within its validity period. Only HTTP/1.1 is offered.
func NewServerConfig(o ServerOptions) *tls.Config {
	if o.Allow == nil {
		panic("mtls: internal error: NewServerConfig without an Allow")
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{o.Cert},
		// Any certificate, because no CA vouches for it: VerifyConnection
		// admits it by fingerprint.
		ClientAuth: tls.RequireAnyClientCert,
		// Without tickets every connection is a full handshake, checked
		// against the allow list in force when it is made.
		SessionTicketsDisabled: true,
		NextProtos:             []string{"http/1.1"},
		VerifyConnection: func(cs tls.ConnectionState) error {
			fp, err := checkPeer(cs, now())
			if err == nil && !o.Allow.Load().Contains(fp) {
				err = ErrNotAllowed
			}
			if err != nil && o.OnRefused != nil {
				o.OnRefused(fp, err)
			}
			return err
		},
	}
}

// ClientOptions configure NewClientConfig.
type ClientOptions struct {
	Cert   tls.Certificate // our certificate, presented to the server
	Server Fingerprint     // the only server certificate admitted

	// Now is the clock for validity checks; default time.Now.
	Now func() time.Time
}

// NewClientConfig returns a TLS 1.3 client config that presents our
// certificate and admits the server only by its pinned fingerprint, within
// its validity period. Host names are not checked: the pin is stronger.
func NewClientConfig(o ClientOptions) *tls.Config {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	cert := o.Cert
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		// The chain is not verified against any CA; VerifyConnection pins it.
		InsecureSkipVerify: true,
		// Always present our certificate, whatever CAs the server names.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &cert, nil
		},
		NextProtos: []string{"http/1.1"},
		VerifyConnection: func(cs tls.ConnectionState) error {
			fp, err := checkPeer(cs, now())
			if err != nil {
				return err
			}
			if fp != o.Server {
				return fmt.Errorf("%w: got %s", ErrPinMismatch, fp)
			}
			return nil
		},
	}
}

// checkPeer returns the fingerprint of the peer's leaf certificate and
// whether it is within its validity period at now.
func checkPeer(cs tls.ConnectionState, now time.Time) (Fingerprint, error) {
	if len(cs.PeerCertificates) == 0 {
		return Fingerprint{}, ErrNoPeerCertificate
	}
	leaf := cs.PeerCertificates[0]
	fp := FingerprintDER(leaf.Raw)
	return fp, checkValidity(leaf, now)
}

func checkValidity(c *x509.Certificate, now time.Time) error {
	if now.Before(c.NotBefore) {
		return fmt.Errorf("%w: valid from %s", ErrNotYetValid, c.NotBefore.UTC().Format(time.RFC3339))
	}
	if now.After(c.NotAfter) {
		return fmt.Errorf("%w: at %s", ErrExpired, c.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}
