// Package pull is the store's client of one supervisor's HTTP API (DESIGN
// section 2): it lists chunks and reads a chunk from a byte offset,
// following the latest chunk as it grows, and hands on whole lines only,
// with the offset they end at, so the caller can checkpoint and resume with
// Range after any interruption.
//
// Everything a supervisor sends is untrusted: listings and chunks are size
// bounded, ids are checked against the id syntax, and a response must start
// where it was asked to start.
package pull

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"stele/internal/chunklog"
	"stele/internal/mtls"
	"stele/internal/sources"
)

var (
	// ErrGone reports a chunk the supervisor no longer has (404).
	ErrGone = errors.New("pull: chunk gone")
	// ErrBadOffset reports an offset the supervisor refused (416): past the
	// end of the chunk or not on a line boundary.
	ErrBadOffset = errors.New("pull: offset refused")
	// ErrProtocol reports a response that breaks the API's contract.
	ErrProtocol = errors.New("pull: protocol violation")
)

// Client reads from one supervisor.
type Client struct {
	src sources.Source
	hc  *http.Client
}

// NewClient returns a client that presents cert and admits only the server
// certificate the source pins.
func NewClient(src sources.Source, cert tls.Certificate) *Client {
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: keepAlive}
	tr := &http.Transport{
		DialContext:           dialer.DialContext,
		TLSClientConfig:       mtls.NewClientConfig(mtls.ClientOptions{Cert: cert, Server: src.Fingerprint}),
		TLSHandshakeTimeout:   handshakeTimeout,
		ResponseHeaderTimeout: headerTimeout,
		MaxIdleConnsPerHost:   4,
		ForceAttemptHTTP2:     false,
		DisableCompression:    true,
	}
	return &Client{src: src, hc: &http.Client{Transport: tr}}
}

// Close releases idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// List returns the supervisor's chunk ids, oldest first.
func (c *Client) List(ctx context.Context) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.src.URL+"/chunk/", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("pull: %s: list: %w", c.src.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("pull: %s: list: %w: status %d", c.src.Name, ErrProtocol, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxListBytes+1))
	if err != nil {
		return nil, fmt.Errorf("pull: %s: list: %w", c.src.Name, err)
	}
	if len(body) > maxListBytes {
		return nil, fmt.Errorf("pull: %s: list: %w: listing over %d bytes", c.src.Name, ErrProtocol, maxListBytes)
	}
	var ids []string
	for _, l := range strings.Split(strings.TrimSuffix(string(body), "\n"), "\n") {
		if l == "" && len(body) == 0 {
			break
		}
		if !chunklog.ValidID(l) {
			return nil, fmt.Errorf("pull: %s: list: %w: bad id %q", c.src.Name, ErrProtocol, clip(l))
		}
		// Ids sort as strings in the order they were issued (DESIGN 2).
		if n := len(ids); n > 0 && ids[n-1] >= l {
			return nil, fmt.Errorf("pull: %s: list: %w: ids not increasing at %q", c.src.Name, ErrProtocol, l)
		}
		ids = append(ids, l)
	}
	return ids, nil
}

// Fetch reads chunk id from byte offset on and calls fn with each run of
// whole lines and the offset just past them; fn's error stops the fetch and
// is returned. It returns complete == true when the chunk has been read to
// its end and is closed: a closed chunk's whole length, or the clean end of
// the latest chunk's stream (which the supervisor sends only when the chunk
// closes). Any other end is an error, after which the caller resumes from
// the last offset fn saw.
func (c *Client) Fetch(ctx context.Context, id string, offset int64, fn func(lines []byte, end int64) error) (complete bool, err error) {
	if !chunklog.ValidID(id) || offset < 0 {
		return false, fmt.Errorf("pull: bad request: id %q offset %d", clip(id), offset)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.src.URL+"/chunk/"+id, nil)
	if err != nil {
		return false, err
	}
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return false, fmt.Errorf("pull: %s: chunk %s: %w", c.src.Name, id, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		if offset > 0 {
			return false, fmt.Errorf("pull: %s: chunk %s: %w: whole chunk sent for a Range", c.src.Name, id, ErrProtocol)
		}
	case http.StatusPartialContent:
		if start, ok := rangeStart(resp.Header.Get("Content-Range")); !ok || start != offset {
			return false, fmt.Errorf("pull: %s: chunk %s: %w: Content-Range %q for offset %d", c.src.Name, id, ErrProtocol, clip(resp.Header.Get("Content-Range")), offset)
		}
	case http.StatusNotFound:
		return false, ErrGone
	case http.StatusRequestedRangeNotSatisfiable:
		return false, ErrBadOffset
	default:
		return false, fmt.Errorf("pull: %s: chunk %s: %w: status %d", c.src.Name, id, ErrProtocol, resp.StatusCode)
	}
	// A closed chunk has a length; the latest is streamed without one.
	closedLen := resp.ContentLength
	r := bufio.NewReaderSize(io.LimitReader(resp.Body, maxChunkBytes+1), readBytes)
	// The latest chunk's lines go on as they come, for freshness; a
	// closed chunk's in runs of closedRunBytes.
	run := readBytes
	if closedLen >= 0 {
		run = closedRunBytes
	}
	buf := make([]byte, 0, run)
	pos := offset
	var got int64
	for {
		n, rerr := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		got += int64(n)
		if offset+got > maxChunkBytes {
			return false, fmt.Errorf("pull: %s: chunk %s: %w: more than %d bytes", c.src.Name, id, ErrProtocol, maxChunkBytes)
		}
		if closedLen >= 0 && len(buf) < cap(buf) && rerr == nil {
			continue
		}
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			pos += int64(i + 1)
			if err := fn(buf[:i+1], pos); err != nil {
				return false, err
			}
			buf = append(buf[:0], buf[i+1:]...)
		}
		if len(buf) == cap(buf) {
			// A line longer than the buffer: grow, within the chunk bound.
			buf = append(buf, make([]byte, readBytes)...)[:len(buf)]
		}
		if rerr == io.EOF {
			if len(buf) > 0 {
				return false, fmt.Errorf("pull: %s: chunk %s: %w: response ends inside a line", c.src.Name, id, ErrProtocol)
			}
			if closedLen >= 0 && got != closedLen {
				return false, fmt.Errorf("pull: %s: chunk %s: %w: %d bytes of %d", c.src.Name, id, io.ErrUnexpectedEOF, got, closedLen)
			}
			return true, nil
		}
		if rerr != nil {
			return false, fmt.Errorf("pull: %s: chunk %s: %w", c.src.Name, id, rerr)
		}
	}
}

// rangeStart parses the first offset of "bytes N-LAST/SIZE" or "bytes N-*/*".
func rangeStart(s string) (int64, bool) {
	rest, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, false
	}
	first, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(first, 10, 64)
	return n, err == nil && n >= 0
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
