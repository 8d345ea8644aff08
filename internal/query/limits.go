package query

import (
	"time"

	"stele/internal/dremel"
)

// Limits on what a query may ask of the parser, and through it of the
// executor. Queries come from any client with a certificate; every loop and
// allocation Parse makes is bounded by these and by the query's length.
const (
	// MaxQueryBytes bounds the query text: people write queries by hand,
	// and the HTTP layer can refuse a larger body before reading it.
	MaxQueryBytes = 64 << 10

	// maxStages bounds the stage lines; all stages but where appear once,
	// and more where lines than this are better joined with and.
	maxStages = 64

	// maxDepth bounds the nesting of parentheses and not, so the recursive
	// parser, printer and evaluator have a small stack.
	maxDepth = 32

	// maxConds bounds the leaf conditions of a query (comparisons, in,
	// contains, ~, exists), which the executor evaluates per row.
	maxConds = 256

	// maxInValues bounds the values of one in list: longer lists belong in
	// a different query, and the executor builds a set from them.
	maxInValues = 1000

	// maxRegexBytes bounds the text of one ~ pattern.
	maxRegexBytes = 1000

	// maxRegexInsts bounds the compiled RE2 programs of a whole query, in
	// instructions: matching memory and time per byte grow with it, and
	// "x{1000}" style repeats are small to write but large compiled.
	maxRegexInsts = 20_000

	// maxAggs bounds the aggregates of stats: each keeps state per group.
	maxAggs = 32

	// maxBy bounds the by fields: each adds to every group key.
	maxBy = 8

	// maxSortKeys bounds the keys of sort.
	maxSortKeys = 8

	// maxFields bounds the fields stage.
	maxFields = 64

	// maxPathSegments is the deepest field path: deeper keys cannot be
	// stored as columns anyway.
	maxPathSegments = dremel.MaxFieldDepth

	// MaxLimit bounds limit N: with sort, the executor keeps N rows in
	// memory; more rows than this are an export, not a query.
	MaxLimit = 1_000_000

	// MinEvery is the narrowest stats bucket: event times are only as good
	// as the clocks that made them, and finer buckets multiply rows.
	MinEvery = time.Second

	// maxEcho bounds how much of the input an error message repeats, in
	// characters, so errors stay one short line.
	maxEcho = 40
)
