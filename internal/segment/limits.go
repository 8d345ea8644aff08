package segment

// Limits on segment files. Files on disk are untrusted: a reader checks
// every count and length against these and against the bytes present
// before it allocates or loops.
const (
	// MaxBlockRows is the most records in one block (64Ki): big enough for
	// encodings to pay, small enough that one block decodes in little
	// memory.
	MaxBlockRows = 1 << 16

	// MaxBlocks bounds the blocks of one segment (4Gi records).
	MaxBlocks = 1 << 16

	// MaxFooterBytes bounds the footer a reader will load whole.
	MaxFooterBytes = 1 << 26

	// MaxChunkBytes bounds one column chunk a reader will load whole.
	MaxChunkBytes = 1 << 28

	// MaxLineBytes bounds one JSON event line given to the writer; the
	// supervisor keeps lines under 1 MB.
	MaxLineBytes = 1 << 20

	// MaxBloomValues is the most distinct strings a chunk's bloom filter is
	// built for; beyond it, a filter would cost more than it saves and the
	// chunk has none (a query must read the chunk).
	MaxBloomValues = 4096

	// presenceCache is how many blocks' decoded presence chunks a Reader
	// keeps (each about 4 bytes per record): a scan of one column over
	// the blocks, then of the next, decodes each only once.
	presenceCache = 16

	// maxShapes bounds the distinct shapes of a block's presence chunk;
	// records more varied than this keep their definition levels.
	maxShapes = 1024

	// bloomBitsPerValue and bloomProbes give about a 2% false-positive
	// rate. Part of the format; never change.
	bloomBitsPerValue = 10
	bloomProbes       = 4
)
