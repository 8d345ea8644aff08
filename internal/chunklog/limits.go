package chunklog

import "time"

const (
	// MaxChunkBytes bounds Options.ChunkBytes: a chunk must stay under 1 MB
	// so that readers can hold one whole (DESIGN section 2).
	MaxChunkBytes = 1_000_000

	// MinChunkBytes keeps chunk files from being so small that ids and
	// checksum files dominate; tests use it.
	MinChunkBytes = 4096

	// MaxRecordBytes bounds one appended line, so that a line alone in a
	// chunk, with the event that opened the chunk, keeps it under 1 MB.
	MaxRecordBytes = MaxChunkBytes - 64<<10

	// RegionBytes is the target span of one checksum region: damage to a
	// closed chunk costs at most the regions it touches.
	RegionBytes = 64 << 10

	// maxRegions bounds the region table read from a .sum file: a chunk of
	// at most 1 MB whose regions each hold at least one byte.
	maxRegions = MaxChunkBytes

	// idDigits is the fixed length of the ids this package makes.
	idDigits = 12

	// maxDirEntries bounds how many directory entries Open reads, so a
	// directory stuffed with junk cannot make start-up unbounded.
	maxDirEntries = 1 << 20

	// minFreeBytes is the free space below which the disk counts as full and
	// the oldest chunks are discarded: room for the latest chunk and its .sum.
	minFreeBytes = 4 * MaxChunkBytes

	// idReserve is how far ahead of the newest id the lock file reserves
	// ids, durably, before they are used: a restart continues after the
	// reservation, so its ids jump ahead of the wall clock by at most this.
	idReserve = time.Second

	// housekeepingInterval is how often age rotation, age retention and the
	// free-space check run when nothing is appended.
	housekeepingInterval = time.Second
)

// maxChunkOnDisk bounds how much of a chunk file recovery reads: a full
// chunk plus one record that arrived alone.
const maxChunkOnDisk = MaxChunkBytes + MaxRecordBytes

// maxPendingCloses bounds the closed chunks waiting to be fsynced: beyond
// it, rotation waits for the disk.
const maxPendingCloses = 16

// ownEventReserve is room kept in every chunk for the log's own events,
// such as the shutdown event written into the chunk it closes.
const ownEventReserve = 1 << 10
