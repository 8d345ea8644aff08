// Package wal is the store's write-ahead log: records are appended to a
// file, fsynced in groups, and acknowledged only once durable, so a kill -9
// or a power loss of the store loses nothing it acknowledged. Records that
// arrive while one group is being fsynced form the next group, so the
// number of fsyncs per second stays bounded by the disk, not the load.
//
// # Files
//
//	DIR/
//	  000000000001.wal   a log file; a new one starts at Rotate
//	  000000000002.wal   the file being appended to
//
// Files are numbered in order; Replay reads them oldest first and Remove
// drops the files whose records are all in segments.
//
// # File layout
//
// All integers little-endian.
//
//	offset  size  field
//	0       8     magic "STELEWAL" (part of the format; never change)
//	8       4     version, 1
//	12      ...   records, back to back
//
// # Record layout
//
//	offset  size  field
//	0       4     payload length N (at most MaxRecordBytes)
//	4       N     payload, opaque to this package
//	4+N     8     xxh3-64 of the length and the payload
//
// # Recovery
//
// Replay stops at the end of the last whole record of the newest file. A
// record that runs past the end of that file, or zeros where a crash left
// blocks unwritten, is the torn tail of a crash and is cut off. A record
// whose checksum does not match, or that is cut short in an older file, is
// corruption: Replay cuts the log there too (dropping any later files) so
// the store can carry on, and reports it in ReplayStats.Corrupt with the
// file and offset, so the caller can record it and fetch again what the
// lost records held.
package wal
