package jsonscan

// Limits on what one line may make the scanner do. Scan is linear in the
// line's length; these bound the state that input could otherwise grow.
const (
	// maxDepth is the deepest nesting of objects and arrays accepted. It is
	// encoding/json's own limit (maxNestingDepth), so Object agrees with
	// json.Valid on every input; changing it breaks that promise.
	maxDepth = 10000

	// maxExponent is where the decimal exponent of a numeric timestamp
	// saturates. It exceeds any line's digit count plus the 19 digits an
	// int64 holds, so saturating never changes the answer, and it keeps the
	// exponent arithmetic far from int64 overflow.
	maxExponent = 1 << 50
)
