package colenc

import "encoding/binary"

// StrHex is the encoding tag of strings of lower-case hexadecimal digits
// packed two to a byte. Part of the format; never change.
const StrHex byte = 0x17

// hexDigits are the digits StrHex packs, by value.
const hexDigits = "0123456789abcdef"

// isHex reports whether vals are lower-case hexadecimal digits only, with
// at least one digit among them.
func isHex(vals []string) bool {
	any := false
	for _, v := range vals {
		for i := 0; i < len(v); i++ {
			if c := v[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
		any = any || len(v) > 0
	}
	return any
}

// appendHex appends vals, which isHex accepts, as StrHex:
//
//	| 17 | uvarint len(L) | L = ints(lengths) | the digits of all the values, two to a byte |
//
// The first of two digits is in the high half of a byte; an odd count
// leaves the low half of the last byte 0. Random identifiers (request and
// trace ids, hashes) cost half their text, as under flate, but decode
// without inflating.
func appendHex(dst []byte, vals []string) []byte {
	lens := make([]int64, len(vals))
	for i, v := range vals {
		lens[i] = int64(len(v))
	}
	l := AppendInts(nil, lens)
	dst = append(dst, StrHex)
	dst = binary.AppendUvarint(dst, uint64(len(l)))
	dst = append(dst, l...)
	var half byte
	odd := false
	for _, v := range vals {
		for i := 0; i < len(v); i++ {
			c := v[i]
			d := c - '0'
			if c >= 'a' {
				d = c - 'a' + 10
			}
			if odd {
				dst = append(dst, half|d)
			} else {
				half = d << 4
			}
			odd = !odd
		}
	}
	if odd {
		dst = append(dst, half)
	}
	return dst
}

// decodeHex decodes n strings of a StrHex stream.
func decodeHex(src []byte, n int) (*Strings, error) {
	offs, packed, err := readOffsets(src[1:], n, 2)
	if err != nil {
		return nil, err
	}
	total := offs[n]
	if (total+1)/2 != len(packed) {
		return nil, corruptf("%d digits in %d bytes", total, len(packed))
	}
	data := make([]byte, 2*len(packed))
	for i, c := range packed {
		data[2*i], data[2*i+1] = hexDigits[c>>4], hexDigits[c&15]
	}
	return &Strings{Data: data[:total], Offs: offs}, nil
}
