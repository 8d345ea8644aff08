// Package engine runs queries of the query language (package query) over
// the store's records: the segments and the memory records of one
// consistent view (ingest.View), each record once.
//
// # Plan
//
// A query reads only the fields it names (conditions, stats, sort,
// fields) plus time_ns. Segments and memory are scanned a block at a time:
// a segment block (its zone map's time range checked first), or up to
// memBatch memory records shredded into the same columns. A segment
// block is skipped unread when its zone maps say no record in it can pass
// where (zone.go: string equality against bloom filters, integer
// comparisons against min and max). For each field
// the leaves at its path are read, of every type, and each record's values
// found through its repetition and definition levels. Conditions run a
// block at a time over a selection vector (vec.go): on a field with one
// flat leaf, a dictionary-coded string column is tested once per distinct
// value and then by code, integers compare as integers; anything else is
// tested row by row. stats gives each selected row small per-block ids
// for its key (dictionary codes, integer offsets, buckets) and looks a
// group up once per distinct id in the block (group.go). Percentiles of
// integers count most values per value in a histogram once a group has
// enough of them in a narrow enough range, listing the rest (pct.go);
// distinct without by or every marks the dictionary codes a block's rows
// use and hashes each once. stats spreads the blocks over GOMAXPROCS
// workers, in runs of neighbouring blocks, and merges their groups; no
// aggregate depends on the order of its values, so the answer is the same.
// Raw events are kept newest first in a heap of the limit's size; segments
// and blocks whose newest record cannot make it are skipped, and only the
// records kept are assembled back into JSON.
//
// A stats query without every reads no time_ns in a block wholly inside
// its time range whose presence chunk says every record has one. With
// Options.Cache, segment footers and the decoded columns are kept for
// later runs (segment.Cache): a bounded cache shared by the runs of a
// store, keyed by each file's identity.
//
// # Semantics
//
// A field's values in a record are all its values at that path (every
// element of arrays on the way), of any type. A comparison holds if one of
// them is comparable with the literal and compares as asked: strings with
// strings, numbers with numbers (integers exactly), so a field the record
// lacks, or holds only in another type, makes every comparison false (and
// its not true). contains and ~ look at strings only; in is any of =;
// exists is true when the record has any value there, null included, or an
// object (a group the columns hold below the path).
//
// stats groups by the first value of each by field (several values: a JSON
// array of them; none: null) and, with every D, by the bucket
// time_ns - time_ns mod D. count counts records, count(F) values; sum and
// avg add numbers exactly and round once (sum.go), so no order of rows
// changes an answer; a sum of integers that fits an int64 is an integer,
// a sum beyond float64's range or with a term that was is null; min and max order numbers, then strings; pNN is the
// nearest-rank percentile of the numbers (the smallest with at least NN%
// at or below it); distinct counts distinct values (1 and 1.0 differ),
// told apart by an xxh3-128 hash of each, as the store tells records
// apart. Aggregates of nothing are null (count and distinct: 0). stats without by
// or every answers one row even when nothing matched.
//
// # Personal data
//
// With Options.Tokens set (a client without pii), every value under a key
// starting with pii_ leaves the engine as its token (Tokenizer): in events,
// group keys and projected fields; null stays null. A line that was not a
// JSON event, kept whole as _line, cannot mark personal data by its keys:
// if it mentions pii_ it is a token too, and so is every _line_b64, and
// conditions see them as tokens. Conditions on such fields may only test
// equality with tokens (=, !=, in) or exists; sum, avg, min, max and
// percentiles of them are refused, as is any raw literal.
//
// # Limits
//
// A run holds at most Options.MaxMemory of groups, percentile values,
// distinct sets and kept events, makes at most Options.MaxGroups groups,
// and stops when its context ends; each ends it with a *LimitError
// (ErrLimit to errors.Is, possibly wrapped with where it happened) whose
// Msg, for the client, says which and how to narrow the query.
package engine
