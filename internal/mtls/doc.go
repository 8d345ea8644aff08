// Package mtls is Stele's TLS policy, shared by the supervisor and the store:
// both ends of every connection present a certificate, and each side admits
// the other only by the SHA-256 fingerprint of its certificate, never by a
// certificate authority.
//
//   - Fingerprints: SHA-256 of the DER certificate, printed as lowercase hex;
//     parsed with or without colons, in either case.
//   - Allow lists: a file of fingerprints or PEM certificates, one entry
//     each, '#' comments, bounded in size and entries, with line-numbered
//     errors (see ParseAllowList for the grammar).
//   - Server configs: TLS 1.3 only, a client certificate required, and a
//     fingerprint check against an Allow that can be swapped atomically (on
//     SIGHUP) without touching established connections.
//   - Client configs: TLS 1.3 only, our own certificate presented, and the
//     server admitted only by one pinned fingerprint.
//   - Certificates: GenerateCert makes the self-signed key pair that
//     `supervisor gencert` and `store gencert` write.
//
// Both sides also refuse a certificate outside its validity period, even
// though it is self-signed and pinned: an expired certificate is refused at
// the handshake like an unlisted one. Session tickets are disabled on the
// server so that every connection, not only the first, is checked against
// the allow list in force when it is made.
package mtls
