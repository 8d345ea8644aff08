// Package chunkserver is the supervisor's HTTP API over its chunk log
// (DESIGN section 2):
//
//	GET /chunk/      the chunk ids, one per line, oldest first (text/plain)
//	GET /chunk/ID    the chunk's bytes (application/x-ndjson)
//
// HEAD is answered like GET without a body; other methods get 405, a
// request with a body 400, other paths 404.
//
// # Chunks
//
// An id that does not match [123456789CDFGHJKLMNPQRTVWXZ]{1,16} gets 400
// (this covers path traversal: "/chunk/../x" and its percent-encoded forms
// decode to ids with '.' or '/', which are not in the alphabet). An unknown
// or discarded chunk gets 404.
//
// A closed chunk is sent with Content-Length and ETag, the quoted lowercase
// hex of its xxh3-128; If-None-Match with that ETag gets 304. Its bytes are
// checked against the checksums kept beside it as they are read, one region
// (about 64 KiB, always whole lines) at a time, and only verified regions
// are sent. A damaged region ends the response at once, with the
// connection reset before Content-Length bytes were sent, so a client sees
// an error and never a silently shortened chunk; the request's record says
// where the damage is. Skipping the region instead would change the bytes
// behind the ETag and every later offset. The chunk log drops damaged
// regions when the supervisor restarts, after which the chunk is served
// without them (under a new ETag).
//
// The latest chunk is sent as it is at once, then with chunked
// transfer-encoding as lines are appended, each append flushed as it
// comes, until the chunk closes: then the response ends normally. Any
// other end (the client went away, a write timed out, the server is
// stopping, the chunk vanished) resets the connection instead, so that a
// clean end of a latest-chunk response always means "the chunk is closed
// and you have all of it". While no data comes, no deadline runs and no
// bytes are sent, however long; TCP keep-alive finds peers that vanished.
// Each write has WriteTimeout to complete.
//
// Every response, whole or partial, ends on a line boundary.
//
// # Range
//
// Only "Range: bytes=N-" is honoured, on closed and latest chunks alike:
// a client resumes at the end of what it already has, which is always the
// end of a previous response and so a line boundary. N must be at most
// the chunk's current size and must fall on a line boundary (N = 0, or
// the byte before N is '\n'); otherwise the answer is 416 with
// "Content-Range: bytes */SIZE", rather than a response starting with a
// torn line. For a closed chunk N = SIZE is also 416 (RFC 9110: nothing is
// left to send); the Content-Range tells the client it has everything.
//
// A closed chunk's range is 206 with "Content-Range: bytes N-LAST/SIZE".
// The latest chunk's range is 206 with "Content-Range: bytes N-*/*" and
// streams like a whole latest chunk: its end and length are not known
// yet, which RFC 9110's syntax cannot express, so the asterisks say so.
//
// Every other Range form (several ranges, N-M, suffixes, other units,
// malformed values) is ignored as RFC 9110 permits, and the whole chunk is
// sent with 200. If-Range with a value other than the chunk's ETag also
// makes the Range be ignored (so it always is for the latest chunk, which
// has no ETag yet).
//
// # Requests
//
// Config.OnRequest receives one Request per request when it ends: method,
// path, status, body bytes sent, duration, the client certificate's
// fingerprint, and why the response ended early, if it did. The supervisor
// records it as an event.
package chunkserver
