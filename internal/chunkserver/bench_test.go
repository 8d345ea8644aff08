package chunkserver

import (
	"io"
	"net/http"
	"testing"
	"time"

	"stele/internal/chunklog"
	"stele/internal/httpserver"
	"stele/internal/mtls"
)

// BenchmarkServeClosedChunk measures closed-chunk serving (with region
// verification) against net/http's own file server over the same
// directory, the same TLS and the same client, in one run. One op fetches
// every closed chunk from both, alternating; the figures are MB/s of each
// and their ratio (target ≥ 0.8).
func BenchmarkServeClosedChunk(b *testing.B) {
	e := newEnv(b, envOptions{chunkBytes: chunklog.MaxChunkBytes})
	seq := 0
	var ids []string
	var total int64
	for range 8 {
		var c chunklog.Info
		seq, c = e.rotate(seq)
		ids = append(ids, c.ID)
		total += c.Size
	}
	// A plain file server on the same directory, behind the same TLS.
	srvCert, srvFP := genCert(b, "fileserver")
	list, err := mtls.ParseAllowList([]byte(e.clientFP.String()))
	if err != nil {
		b.Fatal(err)
	}
	fsrv, err := httpserver.Listen(httpserver.Config{
		Addr:    "127.0.0.1:0",
		TLS:     mtls.NewServerConfig(mtls.ServerOptions{Cert: srvCert, Allow: mtls.NewAllow(list)}),
		Handler: http.StripPrefix("/chunk/", http.FileServer(http.Dir(e.log.Dir()))),
	})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- fsrv.Serve() }()
	ftr := &http.Transport{TLSClientConfig: mtls.NewClientConfig(mtls.ClientOptions{Cert: e.cliCert, Server: srvFP}), DisableCompression: true}
	fclient := &http.Client{Transport: ftr}
	b.Cleanup(func() {
		ftr.CloseIdleConnections()
		fsrv.Close()
		<-done
	})
	fbase := "https://" + fsrv.Addr().String()
	buf := make([]byte, 64<<10)
	fetch := func(c *http.Client, url string) time.Duration {
		start := time.Now()
		resp, err := c.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.CopyBuffer(io.Discard, resp.Body, buf)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || n == 0 {
			b.Fatalf("%s: %d, %d bytes, %v", url, resp.StatusCode, n, err)
		}
		return time.Since(start)
	}
	// Warm both connections.
	fetch(e.client, e.base+"/chunk/"+ids[0])
	fetch(fclient, fbase+"/chunk/"+ids[0])
	var ours, theirs time.Duration
	b.SetBytes(total)
	b.ResetTimer()
	for range b.N {
		for _, id := range ids {
			ours += fetch(e.client, e.base+"/chunk/"+id)
			theirs += fetch(fclient, fbase+"/chunk/"+id)
		}
	}
	b.StopTimer()
	mb := float64(total) * float64(b.N) / 1e6
	b.ReportMetric(mb/ours.Seconds(), "chunk_MB/s")
	b.ReportMetric(mb/theirs.Seconds(), "fileserver_MB/s")
	b.ReportMetric(theirs.Seconds()/ours.Seconds(), "ratio")
}
