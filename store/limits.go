package main

import "time"

const (
	// defaultMemory is what -memory defaults to: events held in memory
	// before they are in segments, so the store's RSS stays within a few
	// hundred MB whatever it ingests.
	defaultMemory = 64 << 20
	// minMemory is the smallest -memory: below it, flushes would be
	// too small to encode well.
	minMemory = 4 << 20

	// memoryLimitFactor and memoryLimitBase set the Go heap's soft limit
	// from -memory: two memtables, the encoders' buffers and the
	// de-duplication index.
	memoryLimitFactor = 2
	memoryLimitBase   = 96 << 20

	// dedupBudget is how many record identities stay in memory (about
	// 40 bytes each with the hash set's slack).
	dedupBudget = 2 << 20

	// maxBackfillWorkers bounds -backfill-workers: each holds a
	// connection and a chunk's lines in memory.
	maxBackfillWorkers = 64

	// flushEvery is the longest events wait in memory before a flush,
	// which bounds the write-ahead log replayed at start.
	flushEvery = 10 * time.Second
	// maintainEvery is how often the maintenance loop looks at memory,
	// merges and retention.
	maintainEvery = time.Second
	// retainEvery is how often retention runs.
	retainEvery = time.Minute

	// httpShutdownGrace is how long requests in progress may finish at
	// exit.
	httpShutdownGrace = 5 * time.Second
	// httpHeaderTimeout and httpIdleTimeout bound slow and idle clients.
	httpHeaderTimeout = 10 * time.Second
	httpIdleTimeout   = 2 * time.Minute
	// maxStatusBytes bounds a /status response (the sources file has at
	// most a few thousand sources).
	maxStatusBytes = 8 << 20
)

// maxRequestBytes bounds a request body (queries come in the next API).
const maxRequestBytes = 1 << 20

// Query limits: how many run at once, how long the search of stored events
// may take, what one may hold in memory by default (-query-memory) and how
// many groups it may make (the whole store's memory stays bounded:
// maxQueries × -query-memory), and how often a follow looks for new events
// besides being woken by them.
const (
	maxQueries   = 8
	queryTimeout = 30 * time.Second
	queryMemory  = 64 << 20
	queryGroups  = 100_000
	followPoll   = 500 * time.Millisecond
)

// minQueryMemory is the smallest -query-memory: a query must hold a block's
// columns of the few fields it reads.
const minQueryMemory = 1 << 20
