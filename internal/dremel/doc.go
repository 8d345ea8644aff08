// Package dremel shreds JSON records into columns and assembles them back,
// as in "Dremel: Interactive Analysis of Web-Scale Datasets" (Melnik et
// al., VLDB 2010), section 4 and the appendix.
//
// A Schema is a tree of Fields: groups and leaves, each required, optional
// or repeated. Shredding a record gives, for every leaf, a Column of
// entries (value, r, d): r, the repetition level, says at which repeated
// field on the leaf's path the entry starts a new instance (0: a new
// record); d, the definition level, counts the optional and repeated
// fields on the path that are present. An entry has a value only when d
// is the leaf's maximum; otherwise it is a NULL. Assembly reads the
// columns back through the paper's finite-state machine (FSM), for all
// leaves or for a projection of them, and rebuilds the records (for a
// projection, with the parts of the records on the projected paths).
//
// # JSON mapping
//
// Records are JSON objects. A schema is inferred from them (Builder) as
// follows; a value is mapped to a field by its key and by its class:
//
//	JSON value                         field
//	"s"                                optional string
//	number printed as an int64         optional int     (-12, 0, 7; not -0, 1.0, 1e3)
//	any other number                   optional number  (kept as printed: 1.50, 1e3, 1e400)
//	true / false                       optional bool
//	null                               optional null    (no value; d says it is there)
//	{...} with at least one key        optional group
//	[...] of values of one class       repeated field of that class
//	                                   (ints and other numbers together are numbers)
//	{}, [], [[...]], [1,"x"], [{},..]  optional json    (the compact JSON text, kept whole)
//
// A key whose values have different classes gets one field per class, so
// {"a":1} and {"a":"x"} give the columns a (int) and a (string). Arrays of
// arrays, empty arrays, empty objects, and arrays mixing classes (including
// null among other values) are kept whole in a json leaf: they are rare in
// logs and this keeps the mapping lossless. So is any object or array at
// MaxFieldDepth, so levels stay small.
//
// Round trips are lossless in the sense of "equal as JSON values": key
// order is normalized to the schema's field order (first seen first),
// duplicate keys keep their last value (as encoding/json does), numbers
// keep their literal text, and strings are unescaped and escaped again
// (invalid UTF-8 becomes U+FFFD, as in encoding/json).
//
// # Flat events
//
// Most events are flat: objects whose members are strings, numbers,
// booleans or nulls. FlatShredder shreds them straight from their text
// (or from their Values) into the columns Shred would make, without a
// Value per record; it refuses anything else, which then takes the
// general path. Tests and FuzzFlatShredder hold the two paths to the same
// schema and columns.
//
// # Column names
//
// A column is named by the keys on its path joined with '.'; a '.' or '\'
// inside a key is escaped with '\': the key "a.b" under "x" is x.a\.b. The
// name alone does not identify a column: the type and the repetition of
// each field on the path complete it (see AppendColumnLine).
package dremel
