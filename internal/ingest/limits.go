package ingest

import (
	"stele/internal/wal"
)

const (
	// maxSourceLen is the longest source name, as internal/sources allows:
	// a name becomes every stored event's _source.
	maxSourceLen = 64

	// maxChunkLen is the longest chunk id, as chunklog.ValidID allows.
	maxChunkLen = 16

	// maxRecordBytes bounds one batch payload: what the write-ahead log
	// takes in one record.
	maxRecordBytes = wal.MaxRecordBytes

	// maxHeaderBytes is the largest batch header: the fields before the
	// lines with the longest source name and chunk id.
	maxHeaderBytes = 28 + maxSourceLen + maxChunkLen

	// maxBatchLines bounds the line bytes of one batch; Accept cuts longer
	// runs into several batches at line boundaries, each with its own
	// checkpoint. A single line longer than this is refused: supervisors
	// split lines at 1 MB (DESIGN section 2).
	maxBatchLines = maxRecordBytes - maxHeaderBytes

	// recordOverhead is what the memtable is charged per record besides its
	// line: the Record header and the slice holding it.
	recordOverhead = 64
)
