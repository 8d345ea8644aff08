// Package table is the store's columnar storage on disk: immutable segment
// files (package segment) per time partition, and the manifest that names
// the live set of segments together with the write-ahead log position and
// the ingest state they go with. Flushes and merges add and remove
// segments only by writing a new manifest, so a crash at any point leaves
// either the old set or the new one, never a mix (DESIGN section 3,
// "Storage").
//
// # Files
//
//	DIR/MANIFEST                  the live set; replaced atomically
//	DIR/segments/P<part>-<n>.seg  a segment: records of time partition part
//
// A segment file that the manifest does not name is the leftover of a
// crash before its manifest was written (or after a merge's manifest but
// before the inputs were deleted); Open deletes it.
//
// # Manifest
//
// All integers little-endian; varints are encoding/binary's (zig-zag for
// the signed ones marked varint).
//
//	offset  size  field
//	0       8     magic "STELEMAN" (part of the format; never change)
//	8       4     version, 1
//	12      8     wal: every write-ahead log file numbered at most this is
//	              in the segments below
//	20      8     next: the number the next segment will get
//	28      ...   uvarint count of segments, then per segment:
//	              varint part | uvarint n | uvarint bytes | uvarint records |
//	              varint min time_ns | varint max time_ns
//	...     ...   uvarint length L, then L bytes of state (opaque here: the
//	              ingest checkpoints)
//	end-8   8     xxh3-64 of everything before
//
// # Records
//
// A record in a segment is the event line as fetched with the member
// "_source": NAME added last, so it wins over any "_source" a hostile
// source sent (a supervisor never sends one). Lines that break the
// supervisor's contract, not a JSON object or without an integer time_ns,
// are kept whole as {"time_ns":<received>,"_line":"<text>","_source":...}
// (or "_line_b64" when not UTF-8), as the supervisor wraps such output.
//
// Flushed segments hold one partition's records sorted by time; merging
// keeps them sorted with a k-way merge whose memory is about a block's
// decoded columns per input. When every field of the inputs is top-level,
// as most events' are, each record's entries are copied from the input
// columns to the output's; otherwise records are assembled one at a time
// and handed to the writer as they are. Either way nothing is rendered as
// JSON and parsed back.
//
// Flushes and the merges of a partition still taking flushes encode fast
// (segment.Writer.Fast: no LZ matching, fewer trials); the merges of a
// cold partition use the full encoder; the files read the same. A
// partition still taking flushes is merged by tiers of about equal record
// counts, so that each record is rewritten O(log n) times, each time
// cheaply; once cold (its time ended and no flush added to it for
// mergeQuiet), its segments are merged without tiers, and a lone fast one
// is rewritten, so each record is encoded in full once.
package table
