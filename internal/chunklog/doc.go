// Package chunklog is the supervisor's append-only event log on disk: a
// directory of chunk files, each holding exactly the newline-delimited JSON
// that the HTTP API serves for it, plus a checksum file beside every closed
// chunk.
//
// # Directory layout
//
//	DIR/
//	  lock              flock(2)ed while a Log is open: one writer per DIR;
//	                    holds the id reservation (12 id digits)
//	  1CQX7HZ2P4M9      a chunk: NDJSON lines, each ending in '\n'
//	  1CQX7HZ2P4M9.sum  its checksums, written once when the chunk closes
//	  1CQX7HZ2P4MC      the latest chunk: still growing, no .sum yet
//	  *.tmp             a file being written; removed on open
//
// # Chunk ids
//
// An id is 12 digits of base 27 over the alphabet 123456789CDFGHJKLMNPQRTVWXZ
// (ASCII order, so ids of equal length sort as their numbers do). The number
// is max(previous id + 1, wall clock in microseconds): ids strictly increase
// across restarts and backward clock jumps, and are never reused, because the
// lock file durably holds a reservation above every id issued (up to
// idReserve, a second, ahead; renewed with one fsync when ids reach it), and
// an opened log continues above both it and every chunk on disk. A restart
// may thus make ids jump up to a second ahead of the wall clock, which they
// keep until the clock catches up. A new chunk's directory entry becomes
// durable with its first fsync, at most one fsync interval later.
//
// # Checksum file (.sum)
//
// All integers little-endian. The chunk is cut into regions that end on a
// line boundary, each at least RegionBytes long except the last, so that
// damage costs only the lines of the regions it touches.
//
//	offset  size  field
//	0       8     magic "STELESUM" (part of the format; never change)
//	8       4     version, 1
//	12      8     chunk size in bytes
//	20      8     number of lines in the chunk
//	28      8     wall clock when the chunk closed, ns since the Unix epoch
//	36      16    xxh3-128 of the whole chunk (the HTTP ETag)
//	52      4     region count N (at most maxRegions)
//	56      12*N  per region: length uint32, xxh3-64 of its bytes uint64
//	56+12N  8     xxh3-64 of all preceding bytes of this file
//
// # Recovery
//
// On Open every chunk is checked. A closed chunk whose regions do not match
// their checksums is rewritten without the damaged regions, and an event says
// which bytes were lost. A chunk without a valid .sum (the chunk that was
// latest when the process died, or one whose .sum was lost or damaged) keeps
// every complete line that is valid JSON: an incomplete last line, and lines
// of zeros that a power loss can leave, are dropped and counted. A new .sum
// is written for it and it is closed with reason "restart"; a new latest
// chunk is opened. Start-up never fails because of a chunk's contents.
//
// # Durability
//
// Append writes with write(2) before it returns, so a kill -9 of the process
// loses nothing that Append accepted. The latest chunk is fsynced every
// Options.FsyncInterval. A chunk that closes is fsynced and then given its
// .sum by a background goroutine, right away, so appends never wait for the
// disk (unless maxPendingCloses chunks are already waiting); a power loss
// costs at most the last interval, and a crash before the .sum is written
// leaves a chunk that Open recovers like the latest one.
package chunklog
