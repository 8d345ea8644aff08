package colenc

// Limits on what a decoder accepts. Encoded bytes come from segment files,
// which are untrusted: a decoder never allocates more than these allow,
// whatever counts the bytes claim.
const (
	// MaxValues bounds the values (or levels) of one stream: a block has
	// at most 64Ki rows, and repeated fields multiply that by a modest
	// factor in practice. A run-length encoded stream can claim many values
	// in a few bytes, so the bound is what keeps decoding memory finite.
	MaxValues = 1 << 24

	// MaxBytes bounds the decompressed size of one string stream, so a
	// small flate stream cannot expand without end.
	MaxBytes = 1 << 28

	// MaxDict bounds dictionary entries; more distinct values than this
	// are better stored plain.
	MaxDict = 1 << 16

	// MaxGroups bounds the groups a StrGroups stream is decoded in: a
	// group is a shape of record, and a block has far fewer.
	MaxGroups = 1 << 16
)
