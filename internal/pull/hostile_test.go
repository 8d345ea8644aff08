package pull

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
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

// TestClosedChunkInLargeRuns checks that a closed chunk (one with a
// length) reaches fn in few runs of whole lines, each at most
// closedRunBytes until a longer line has grown the buffer, and whole.
func TestClosedChunkInLargeRuns(t *testing.T) {
	var chunk []byte
	for i := 0; len(chunk) < 3*closedRunBytes; i++ {
		chunk = fmt.Appendf(chunk, `{"time_ns":%d,"pad":"%s"}`+"\n", i, strings.Repeat("p", i%300))
		if i == 1000 {
			chunk = append(chunk, strings.Repeat("L", closedRunBytes+5)+"\n"...)
		}
	}
	c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(chunk)))
		for rest := chunk; len(rest) > 0; rest = rest[min(len(rest), 1000):] {
			w.Write(rest[:min(len(rest), 1000)])
		}
	})
	var got []byte
	runs, grown := 0, false
	complete, err := c.Fetch(context.Background(), "1C", 0, func(lines []byte, end int64) error {
		runs++
		grown = grown || bytes.Contains(lines, []byte("LLL"))
		if lines[len(lines)-1] != '\n' || (len(lines) > closedRunBytes && !grown) {
			t.Errorf("run %d: %d bytes", runs, len(lines))
		}
		got = append(got, lines...)
		if end != int64(len(got)) {
			t.Errorf("run %d ends at %d, after %d bytes", runs, end, len(got))
		}
		return nil
	})
	if err != nil || !complete || !bytes.Equal(got, chunk) {
		t.Fatalf("complete %v, %v; got %d bytes of %d", complete, err, len(got), len(chunk))
	}
	if max := len(chunk)/closedRunBytes + 2; runs > max {
		t.Errorf("%d runs of a chunk of %d bytes, want at most %d", runs, len(chunk), max)
	}
}
