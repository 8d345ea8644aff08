package pull

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"stele/internal/mtls"
	"stele/internal/sources"
)

// hostile serves handler over mutual TLS and returns a client pinned to it.
func hostile(t *testing.T, handler http.HandlerFunc) *Client {
	t.Helper()
	tmp := t.TempDir()
	serverFP, err := mtls.WriteCert(filepath.Join(tmp, "server"), mtls.CertOptions{Name: "evil"})
	if err != nil {
		t.Fatal(err)
	}
	clientFP, _ := mtls.WriteCert(filepath.Join(tmp, "client"), mtls.CertOptions{Name: "store"})
	serverCert, _ := mtls.LoadKeyPair(filepath.Join(tmp, "server.crt"), filepath.Join(tmp, "server.key"))
	clientCert, _ := mtls.LoadKeyPair(filepath.Join(tmp, "client.crt"), filepath.Join(tmp, "client.key"))
	list, _ := mtls.ParseAllowList([]byte(clientFP.String()))
	srv := httptest.NewUnstartedServer(handler)
	srv.TLS = mtls.NewServerConfig(mtls.ServerOptions{Cert: serverCert, Allow: mtls.NewAllow(list)})
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c := NewClient(sources.Source{Name: "evil", URL: srv.URL, Fingerprint: serverFP}, clientCert)
	t.Cleanup(c.Close)
	return c
}

func TestHostileListings(t *testing.T) {
	tests := []struct {
		name, body string
		ok         bool
	}{
		{"good", "1C\n1D\n", true},
		{"empty", "", true},
		{"bad id", "1C\n../x\n", false},
		{"not increasing", "1D\n1C\n", false},
		{"duplicate", "1C\n1C\n", false},
		{"huge", strings.Repeat("1C\n", maxListBytes), false},
	}
	for _, tt := range tests {
		c := hostile(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(tt.body)) })
		_, err := c.List(context.Background())
		if (err == nil) != tt.ok || (!tt.ok && !errors.Is(err, ErrProtocol)) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

func TestHostileChunks(t *testing.T) {
	tests := []struct {
		name    string
		offset  int64
		handler http.HandlerFunc
		want    error
	}{
		{"whole chunk for a Range", 5, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}\n")) }, ErrProtocol},
		{"wrong Content-Range", 5, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", "bytes 0-2/3")
			w.WriteHeader(http.StatusPartialContent)
			w.Write([]byte("{}\n"))
		}, ErrProtocol},
		{"ends inside a line", 0, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}\n{\"a\"")) }, ErrProtocol},
		{"larger than a chunk can be", 0, func(w http.ResponseWriter, r *http.Request) {
			line := []byte(strings.Repeat("x", 1000) + "\n")
			for range maxChunkBytes/len(line) + 2 {
				w.Write(line)
			}
		}, ErrProtocol},
		{"one endless line", 0, func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(strings.Repeat("y", maxChunkBytes+10)))
		}, ErrProtocol},
		{"server error", 0, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, ErrProtocol},
	}
	for _, tt := range tests {
		c := hostile(t, tt.handler)
		var delivered int
		_, err := c.Fetch(context.Background(), "1C", tt.offset, func(lines []byte, end int64) error {
			delivered += len(lines)
			return nil
		})
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
		if delivered > maxChunkBytes {
			t.Errorf("%s: delivered %d bytes", tt.name, delivered)
		}
	}
}
