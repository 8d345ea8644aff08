// Package segment writes and reads segment files: immutable files of
// events in Dremel columns (package dremel), each column of each block
// encoded on its own (package colenc), with zone maps that let a query
// skip blocks.
//
// # Format
//
// All integers are little endian; varints are encoding/binary's (zig-zag
// for the signed ones marked varint). Every checksum is xxh3-64 over the
// bytes it follows, from the start of its chunk or footer, and is checked
// before any of those bytes are decoded.
//
//	file    := | header | (presence? chunk …) per block | footer | trailer |
//
//	header  := | "STELESEG" (8) | version u32 = 1 |
//
//	chunk   := | column id u32 | flags u8 | uvarint entries | uvarint len(R) | uvarint len(D) | uvarint len(V) |
//	           | R | D | V | xxh3 u64 |
//	           one column of one block: R and D are the repetition and
//	           definition levels (colenc levels; empty when the maximum is
//	           0), V the values (a colenc stream; empty when there are
//	           none). The column id is the low 32 bits of the xxh3 of the
//	           column's path, repetitions and type, so a chunk cannot pass
//	           for another column's. flags bit 0: D is empty and the
//	           definition levels come from the block's presence chunk;
//	           V may then be a colenc groups stream (tag 16) whose
//	           groups are the shapes of the records that have a value,
//	           in record order.
//
//	presence := | uvarint nflat | column id u32 × nflat | uvarint nshapes | bitmap × nshapes |
//	           | indexes(shape of each record) | xxh3 u64 |
//	           the definition levels of the block's flat columns (top-level
//	           optional leaves, max_r 0 and max_d 1), which say only whether
//	           a record has the field: records with the same set of flat
//	           fields (a shape) share a bitmap of ceil(nflat/8) bytes, bit i
//	           (of byte i/8, least significant first) for the i-th listed
//	           column; the indexes (colenc.AppendIndexes: bit-packed, or
//	           bytes under flate) give each record's shape. Events of one kind share a shape,
//	           so this costs a few bits per record rather than one bit per
//	           record and flat column. When a block has one, every chunk of
//	           a flat column in it has flags bit 0 set.
//
//	footer  := | uvarint nfields | field … | uvarint nblocks | block … | xxh3 u64 |
//	field   := | uvarint len | name | repetition u8 | type u8 | uvarint nchildren |
//	           the schema in preorder, root first (dremel's numbering of
//	           repetitions and types)
//	block   := | uvarint rows | flags u8 | [varint min_time | varint max_time] |
//	           | [uvarint presence offset | uvarint presence size] | uvarint nchunks | chunk-ref … |
//	           flags bit 0: the block has a top-level int time_ns; its
//	           range follows. Bit 1: the block has a presence chunk.
//	chunk-ref := | uvarint leaf | uvarint offset | uvarint size | uvarint entries | encoding u8 | flags u8 |
//	           | [varint min | varint max] | [uvarint len(bloom) | bloom] |
//	           chunk-refs are in increasing leaf order; flags bit 0: min and
//	           max of an int column follow; bit 1: a bloom filter of a
//	           string column follows (len a power of two, at least 8)
//
//	trailer := | footer size u32 | "STELESEG" (8) |
//
// A block holds at most MaxBlockRows records. A column with no entry in a
// block (no record of the block has its path and type) has no chunk there;
// every chunk has one entry with repetition level 0 per record of its
// block. The segment's schema is the union of its blocks' schemas, fields
// in order of first appearance.
//
// Bloom filters have bloomProbes probes per value: with h = xxh3(value),
// probe i sets bit (h + i·(h>>32 | 1)) mod (8·len). They are built only for
// chunks with at most MaxBloomValues distinct strings; a query reads the
// chunk (whose dictionary, if any, lists its values) for the others.
//
// # Untrusted input
//
// A segment file is untrusted. Open reads the header, trailer and footer,
// checks the footer's checksum, and decodes it into temporaries, checking
// every count against the limits (limits.go) and the bytes present and
// every chunk reference against the file; only then does it return a
// Reader. ReadColumn reads one chunk with ReadAt, checks its checksum, and
// decodes it with the same care. Any damage is an error wrapping
// ErrCorrupt (ErrChecksum for a checksum mismatch), or a *VersionError for
// an unknown version; never a panic or an allocation beyond the limits.
//
// # Caching
//
// A Cache keeps what reading decodes (footers, presence chunks, columns
// in the coded form of ReadColumnCoded) for the Files opened through it,
// up to a bound in bytes, least recently used first out. Entries are
// keyed by the file's path, size, modification time and footer checksum,
// read at every open: files are immutable, so a merged or deleted file's
// entries are simply never asked for again.
//
// # Writing
//
// Create writes to a temporary file in the destination directory; Close
// writes the footer, fsyncs the file, closes it, renames it into place and
// fsyncs the directory. Records keep their order.
package segment
