// Package httpserver runs Stele's HTTPS servers (the supervisor's chunk API,
// later the store's query API) with the hygiene DESIGN section 2 asks for:
//
//   - HTTP/1.1 over TLS only; the tls.Config comes from package mtls.
//   - A request's header, and its body if any, must arrive within
//     ReadTimeout (10 s by default), so a slowloris client holds a
//     connection for at most that long. A handler whose response may take
//     longer (a stream, a large file to a slow reader) calls
//     ClearReadDeadline first, and bounds each of its writes itself with
//     http.ResponseController.SetWriteDeadline: there is no server-wide
//     write timeout, because a stream may rightly run for hours.
//   - Headers are bounded by MaxHeaderBytes (431 beyond).
//   - Idle keep-alive connections close after IdleTimeout.
//   - TCP keep-alive probes detect peers that vanished without a FIN, so
//     a quiet stream to a dead peer is released.
//   - At most MaxConns connections at once. A connection beyond the bound
//     is closed at once, before its TLS handshake, with a TCP reset, and
//     counted through OnRefused: waiting would let an attacker queue
//     unbounded work, and a legitimate client retries.
package httpserver
