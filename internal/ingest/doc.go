// Package ingest is the store's durable, exactly-once acceptance of lines
// fetched from supervisors (DESIGN section 3): it de-duplicates every line,
// logs the new ones together with the chunk position they bring the store to
// in one write-ahead log record, and only once that record is fsynced moves
// the checkpoint and makes the lines queryable from memory. After kill -9 or
// a power loss, Open replays the log and the store fetches again from the
// checkpoints whatever was not acknowledged.
//
// # Exactly once
//
// A checkpoint per (source, chunk) says how many bytes of the chunk are
// accepted; a run that starts before it has its accepted prefix skipped, a run
// that starts after it is refused (ErrGap). Past the checkpoint, each line is
// looked up by its identity, dedup.KeyOf(source, line), in the de-duplication
// partition of its time, so the same record fetched under another chunk id or
// offset is stored once.
//
// A line whose top-level "time_ns" is missing or unusable breaks the
// supervisor's contract (it wraps every such line with a time_ns). It is
// kept, not refused, because refusing would stall the chunk forever: it is
// stored with the time the store received it and counted (Accepted.Untimed),
// and de-duplicated in one partition of its own, Untimed, so that a re-fetch
// at another time still finds it. Only "time_ns" counts: the store's time
// axis is time_ns, and a supervisor never leaves it out.
//
// # Concurrency
//
// Accept may be called from many goroutines. A mutex per (source, chunk)
// orders the runs of one chunk and is held across the log append; the
// de-duplication index and the memtable sit under one short-held mutex that
// is never held across I/O, so concurrent Accepts share one group commit.
// The identities of a run are reserved in the index before its append: a
// concurrent run that meets a reserved identity skips the line but logs its
// own record, whose checkpoint covers that line, only once the run that
// reserved it is durable (so the log never holds a checkpoint past a line it
// lacks): it waits for every run being logged, and if one of them failed,
// it reserves again. A failed append releases its
// reservations and stops the store (the log refuses everything after a
// failed write).
//
// # Memory and segments
//
// The memtable is bounded by Options.MemoryBytes, charged the line and
// recordOverhead per record; a run whose new lines would pass it is refused
// whole with ErrFull, and the caller retries once Flush has made room.
// Replay restores the whole log even beyond the bound.
//
// Flush moves the memtable to segments (package table). Under an
// exclusive hold of the cut lock, which every run holds shared from its log
// append until its records and checkpoint are visible, it rotates the log,
// encodes every checkpoint and freezes the memtable; so the log files up to
// the rotation hold exactly the frozen records and the checkpoints they
// brought. It then writes the frozen records, sorted by time, one segment
// per segment partition, and commits them with the log position and the
// checkpoints in one manifest (the commit point), after which it removes
// the log files up to the rotation. Open restores the checkpoints from the
// manifest and replays only the log files after its position. A crash
// before the manifest leaves segments it does not name, which table.Open
// deletes, and the records are replayed from the log.
//
// Frozen records stay readable in memory until their manifest is written;
// View returns each record once, from memory or from segments.
//
// # De-duplication across memory and segments
//
// The de-duplication index (package dedup) holds the identities of
// recent partitions within Options.DedupBudget. A partition that is not
// resident is rebuilt from the segments (each stored record rendered back
// and hashed with dedup.KeyOfStored, which equals the identity the line had
// when fetched), the memtables and the runs being logged; reserve reads the
// segments before taking the store's mutex. Partitions are 5 s of time_ns
// by default, so that the few a live tail and the backfill workers touch at
// once fit the budget even at tens of thousands of events a second: a
// partition larger than the budget would be evicted and rebuilt, reading
// its segments, on nearly every run (Stats.Rebuilds shows it). Untimed lines are
// de-duplicated only while their partition, Untimed, is resident: they
// break the supervisor's contract and are stored wrapped, by receive time.
// The checkpoints of complete chunks a source no longer lists are dropped
// (Forget), so the state in the manifest stays bounded.
//
// # Log record
//
// Each payload of the write-ahead log (package wal, which adds the length and
// an xxh3 checksum) is one batch. All integers little-endian.
//
//	offset    size  field
//	0         1     kind: 1 = batch (part of the format; never change)
//	1         1     source name length S, 1..64
//	2         S     source name, [A-Za-z0-9_.-]
//	2+S       1     chunk id length C, 1..16
//	3+S       C     chunk id, chunklog.ValidID
//	3+S+C     8     end: chunk offset just past the batch's run, int64 >= 0
//	11+S+C    8     received: store wall time, ns since the Unix epoch, int64
//	19+S+C    1     flags: bit 0 = the chunk is complete; other bits zero
//	20+S+C    4     line count N, uint32
//	24+S+C    4     lines length L, uint32, at most maxRecordBytes
//	28+S+C    L     the N new lines, each ending in '\n', as fetched
//
// Nothing may follow the lines. A batch holds only the lines that were new
// when it was written; lines are never rewritten (the store adds _source when
// it exports them). received is the time given to untimed lines, so replay
// reproduces it.
//
// Replay applies batches in log order. A batch that passed the log's
// checksum but does not decode is corruption (a bug or a newer build): Open
// reports it in ReplayReport.Corrupt and applies nothing from there on; the
// store then fetches again what the checkpoints no longer cover. So that
// records logged after that Open are not hidden behind the damage at the
// next one, the good prefix is copied to a new log that replaces the old,
// which is kept for inspection:
//
//	DIR/wal/                 the write-ahead log (package wal's files)
//	DIR/wal.rebuild/         a new log being written; replaces wal/
//	DIR/wal.corrupt-TIME/    a damaged log, moved aside
//
// A run longer than one record allows is logged as several batches, each
// with the checkpoint at its last line. The test helper dumpLog prints a
// log's batches (go test -run TestDump -ingest.dump DIR).
package ingest
