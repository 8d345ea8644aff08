package dremel

// Limits on what the shredder accepts and what the assembler will rebuild.
// Inputs are untrusted: event lines from any process, and column data read
// back from segment files that may be corrupt.
const (
	// MaxJSONDepth bounds nesting in an event line so the recursive parser
	// and printer cannot exhaust the stack; deeper lines are rejected.
	MaxJSONDepth = 256

	// MaxFieldDepth bounds the number of fields on a column path, which
	// bounds repetition and definition levels (stored as one byte each).
	// A value nested deeper than this is kept whole as a "json" leaf.
	MaxFieldDepth = 32

	// MaxLeaves bounds the columns of one schema, so a schema read from a
	// file cannot make the assembler allocate per-column state without end.
	MaxLeaves = 1 << 14

	// MaxFields bounds all fields (groups and leaves) of one schema.
	MaxFields = 1 << 16
)
