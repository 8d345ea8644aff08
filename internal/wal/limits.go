package wal

const (
	// MaxRecordBytes bounds one record: a batch of lines from one chunk,
	// which is under 1 MB, plus its header.
	MaxRecordBytes = 2 << 20

	// maxGroupBytes bounds how much one group commit writes, so a burst of
	// appenders does not hold one huge buffer.
	maxGroupBytes = 8 << 20
)
