// Package colenc encodes and decodes the value and level streams of one
// column chunk: integers, strings and booleans in whichever encoding is
// smallest for them, and repetition and definition levels in Parquet's
// run-length / bit-packing hybrid.
//
// Every value stream starts with a one-byte encoding tag (part of the
// format; never change); the stream's value count is not stored here but
// given by the caller, who knows it from the levels. Layouts, with varints
// as in encoding/binary (zig-zag for signed) and bit-packing least
// significant bit first, as Parquet packs:
//
//	ints   const  | 01 | varint v |
//	       for    | 02 | varint min | w:1 | (v-min), w bits each             |
//	       delta  | 03 | varint v0 | varint dmin | uvarint g | w:1 | (d-dmin)/g, w bits each |
//	       dict   | 04 | uvarint k | varint entry × k | indexes              |
//	       flate  | 05 | varint min | uvarint len(P) | raw DEFLATE of P = uvarint(v-min)… |
//	       ranked | 06 | uvarint k | uvarint len(F) | F = ints(first entry of each class) |
//	              | uvarint len(G) | G = ints(the k-k' gaps), or nothing when k = k' |
//	              | uvarint len(X) | X = indexes(class of each value), k' classes | offsets… |
//	              a dictionary of k entries in order of rank; class 0 is rank 0, class
//	              c ≥ 1 ranks [2^(c-1), 2^c), so k' = bits(k-1)+1 classes. Each class's
//	              first entry is in F, every other entry is the one before plus its
//	              gap (mod 2⁶⁴). A value is the entry of rank start(c) + offset, its
//	              offset c-1 bits (none for c < 2) of a bit-packed run after X,
//	              padded to a whole byte
//	strings const | 10 | uvarint len | bytes |
//	       plain  | 11 | uvarint len(L) | L = ints(lengths) | bytes…         |
//	       dict   | 12 | uvarint k | uvarint len(D) | D = plain, flate or hex of entries | indexes |
//	       flate  | 13 | uvarint len(P) | raw DEFLATE of P = a plain stream   |
//	       split  | 14 | uvarint k | uvarint len(D) | D = plain, flate or hex of k skeletons |
//	              | uvarint len(X) | X = indexes | ints of the numbers, or nothing |
//	              a skeleton is a value with each number (maximal ASCII digit run, no
//	              leading zero unless it is "0", at most 18 digits) replaced by a 00 byte
//	       slots  | 15 | uvarint k | uvarint len(D) | D | uvarint len(X) | X |   as split, then
//	              | uvarint len(I) | I = ints of the numbers in one slot | …   per slot with values
//	              a slot is the j-th 00 byte of skeleton i; slots are in order of i, then j,
//	              and a slot holds as many numbers as values have skeleton i, in order
//	       groups | 16 | (uvarint len(S) | S = strings of the values of group g) … |
//	              a stream per group g with values, in increasing g; each value's group
//	              is given by the caller (DecodeStringsGrouped), not stored here
//	       hex    | 17 | uvarint len(L) | L = ints(lengths) | digits, two a byte |
//	              values of lower-case hexadecimal digits only; the first digit of a
//	              byte is its high 4 bits, and an odd count leaves the last low 4 bits 0
//	bools  rle    | 20 | hybrid(v), width 1 |
//	levels        (no tag) hybrid(level), width = bits(max level); empty when max is 0
//
//	indexes := | w = bits(k-1) u8 | hybrid(index), width w |
//	         | ff | uvarint len(P) | raw DEFLATE of P |   P = the indices as bytes:
//	                                                      one each when k ≤ 256, else two, little endian
//
// Every flate stream is preceded by its inflated size, which must match
// exactly (and be at most MaxBytes); nothing may follow it. Above, d are the deltas between consecutive values and all arithmetic is
// modulo 2⁶⁴, and the hybrid stream is
//
//	hybrid     := run*
//	rle-run    := uvarint(count << 1)      value: ceil(w/8) bytes, little endian
//	packed-run := uvarint(groups << 1 | 1) groups × 8 values of w bits
//
// Decoders take untrusted bytes: they check every length against the bytes
// that are there, allocate no more than the limits in limits.go allow,
// and reject trailing bytes.
package colenc
