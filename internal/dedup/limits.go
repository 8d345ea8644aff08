package dedup

import "stele/internal/dremel"

// Limits on what one line may make KeyOf do. Lines come from any process a
// supervisor runs, so every bound here is reached by some hostile input.
const (
	// maxDepth is the deepest nesting the canonical scanner follows. It is
	// the parser's own limit, so a line gets a canonical identity exactly
	// when dremel can store it; deeper lines get a byte-based one.
	maxDepth = dremel.MaxJSONDepth

	// maxFastKeys is the most members of one object the fast path checks
	// for duplicate keys, pairwise; an object with more is hashed through
	// the parser, whose map keeps the check linear.
	maxFastKeys = 32

	// maxOpenKeys is how many keys of the objects open at once the fast
	// path remembers (a fixed array, so the fast path does not allocate);
	// beyond it the line is hashed through the parser.
	maxOpenKeys = 96

	// scratchBytes is the stack buffer for canonical bytes that differ
	// from the input (whitespace, escapes, nested objects). A member whose
	// canonical form outgrows it spills to the heap.
	scratchBytes = 512
)
