package table

import "time"

const (
	// maxManifestBytes bounds the manifest Open reads whole: a
	// million segments and the checkpoints of a few thousand sources.
	maxManifestBytes = 1 << 28

	// maxSegments bounds the segments a manifest may list.
	maxSegments = 1 << 20

	// mergeFanIn is how many segments of one partition trigger a merge,
	// and mergeMaxInputs the most one merge reads at once: each holds a
	// block's decoded columns in memory, about 4 MB of events, and while
	// the store ingests, that memory sits beside two memtables.
	mergeFanIn     = 4
	mergeMaxInputs = 8

	// mergeMaxBytes bounds the segments merged into one: merging rewrites
	// every byte, so very large segments are left alone.
	mergeMaxBytes = 1 << 30

	// mergeTierRatio bounds a warm partition's merge: a segment is merged
	// with smaller ones only if it has at most this times their records.
	mergeTierRatio = 2

	// mergeQuiet is how long after a partition's end it counts as cold:
	// then even two segments are merged into one.
	mergeQuiet = 2 * time.Minute
)

// blockRows is the records per block of the segments written here: large
// enough for encodings to pay, small enough that a writer's pending block
// and a merge's input blocks fit the store's memory. A variable only so
// that tests can make blocks small.
var blockRows = 16 << 10
