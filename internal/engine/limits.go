package engine

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// ErrLimit is wrapped by every error that ends a query for exceeding one
// of its bounds; the message says which and how to narrow the query.
var ErrLimit = errors.New("engine: query limit")

// LimitError is a run ended by one of its bounds; Msg, for the client,
// says which and how to narrow the query. It is ErrLimit to errors.Is.
type LimitError struct{ Msg string }

func (e *LimitError) Error() string        { return ErrLimit.Error() + ": " + e.Msg }
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

func limitf(format string, args ...any) error {
	return &LimitError{Msg: fmt.Sprintf(format, args...)}
}

const (
	// memBatch is how many memory records are shredded into one block.
	memBatch = 16 << 10

	// checkEvery is how many rows pass between checks of the deadline.
	checkEvery = 4096

	// DefaultMaxMemory and DefaultMaxGroups are a query's bounds unless
	// the caller sets its own: what one query may hold (group states,
	// values kept for percentiles and distinct counts, rows kept to sort)
	// and how many groups stats may make.
	DefaultMaxMemory = 256 << 20
	DefaultMaxGroups = 100_000

	// DefaultCacheBytes is what a store's cache of decoded segment
	// columns (Options.Cache) holds by default: the columns a query over
	// a day of 10M events reads (a few, at 1 to 9 bytes a record) fit.
	DefaultCacheBytes = 256 << 20

	// defaultRawLimit is how many raw events a query without limit shows.
	defaultRawLimit = 100

	// parallelMin is the fewest blocks (of segments, or batches of memory
	// records) worth spreading over cores.
	parallelMin = 4

	// maxDimIDs bounds the ids of one group-key dimension in a block: a
	// dimension with more possible ids (a wide integer range) gets dense
	// ids instead. maxTableID bounds the composite ids whose groups are
	// found by index in a table (of that many pointers, reused); wider
	// ones are numbered densely first (at most a block's rows).
	maxDimIDs  = 1 << 16
	maxTableID = 1 << 16
)

// budget accounts the memory a query holds, across its workers.
type budget struct {
	used atomic.Int64
	max  int64
}

// release returns memory charged before.
func (b *budget) release(n int64) { b.used.Add(-n) }

func (b *budget) charge(n int64) error {
	if used := b.used.Add(n); b.max > 0 && used > b.max {
		size := fmt.Sprintf("%d MB", b.max>>20)
		if b.max < 1<<20 {
			size = fmt.Sprintf("%d bytes", b.max) // not "0 MB"
		}
		return limitf("the query needs more than %s of memory; narrow it with since, where or fewer groups", size)
	}
	return nil
}
