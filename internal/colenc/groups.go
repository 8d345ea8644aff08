package colenc

import (
	"encoding/binary"
	"slices"
)

// StrGroups is the encoding tag of strings coded group by group, each
// value's group known to the reader from elsewhere. Part of the format;
// never change.
const StrGroups byte = 0x16

// AppendStringsGrouped appends vals as StrGroups, the values of each group
// in a string stream of their own:
//
//	| 16 | (uvarint len(S) | S = strings(the values of group g, in order)) per group g with values, in increasing g |
//
// group[i] is the group of vals[i], below groups; dict and idx are what
// StringDict returns for vals, and not nil. Values that follow a context
// the reader knows anyway (the kind of an event, where the shape of a
// record tells it) cost next to nothing in a stream per context.
func (e Encoder) AppendStringsGrouped(dst []byte, vals, dict []string, idx []uint32, group []uint16, groups int) []byte {
	if len(vals) == 0 || len(group) != len(vals) || len(idx) != len(vals) {
		panic("colenc: internal error: no values, or not one group and index each")
	}
	// The values group by group: order lists them, group g's from
	// start[g] to start[g+1].
	start := make([]int, groups+1)
	for _, g := range group {
		start[g+1]++
	}
	most := 0
	for g := range groups {
		most = max(most, start[g+1])
		start[g+1] += start[g]
	}
	order := make([]int32, len(vals))
	next := slices.Clone(start[:groups])
	for i, g := range group {
		order[next[g]] = int32(i)
		next[g]++
	}
	dst = append(dst, StrGroups)
	local := make([]uint32, len(dict)) // an entry's index in the group's dictionary, plus 1
	var s []byte
	gvals, gidx := make([]string, 0, most), make([]uint32, 0, most)
	var gdict []string
	for g := range groups {
		if start[g] == start[g+1] {
			continue
		}
		clear(local)
		gvals, gdict, gidx = gvals[:0], gdict[:0], gidx[:0]
		for _, i := range order[start[g]:start[g+1]] {
			k := idx[i]
			if local[k] == 0 {
				gdict = append(gdict, dict[k])
				local[k] = uint32(len(gdict))
			}
			gvals = append(gvals, vals[i])
			gidx = append(gidx, local[k]-1)
		}
		s = e.AppendStringsDict(s[:0], gvals, gdict, gidx)
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	return dst
}

// DecodeStringsGrouped decodes a StrGroups stream of len(group) strings,
// group[i] (below groups) being the group of value i. The values come with
// a dictionary, of distinct entries, when every group's do.
func DecodeStringsGrouped(src []byte, group []uint16, groups int) (*Strings, error) {
	n := len(group)
	if n == 0 || n > MaxValues || groups < 1 || groups > MaxGroups {
		return nil, corruptf("bad count %d or groups %d", n, groups)
	}
	if len(src) == 0 || src[0] != StrGroups {
		return nil, ErrEncoding
	}
	count := make([]int, groups)
	for _, g := range group {
		if int(g) >= groups {
			return nil, corruptf("group %d of %d", g, groups)
		}
		count[g]++
	}
	r := reader{b: src[1:]}
	parts := make([]*Strings, groups)
	allDict := true
	for g, c := range count {
		if c == 0 {
			continue
		}
		b := r.bytes(r.uvarint())
		if r.err != nil {
			return nil, r.err
		}
		if len(b) > 0 && b[0] == StrGroups {
			return nil, corruptf("groups within a group")
		}
		p, err := DecodeStrings(b, c)
		if err != nil {
			return nil, err
		}
		parts[g] = p
		allDict = allDict && p.Index != nil
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	next := make([]int, groups) // values of each group taken so far
	if !allDict {
		out := &Strings{Offs: make([]int, 1, n+1)}
		// A group's dictionary repeats its entries at no cost: the total
		// is checked before anything is copied.
		total := 0
		for _, g := range group {
			total += len(parts[g].Bytes(next[g]))
			next[g]++
			if total > MaxBytes {
				return nil, corruptf("more than %d bytes of strings", MaxBytes)
			}
		}
		clear(next)
		out.Data = make([]byte, 0, total)
		for _, g := range group {
			out.Data = append(out.Data, parts[g].Bytes(next[g])...)
			next[g]++
			out.Offs = append(out.Offs, len(out.Data))
		}
		return out, nil
	}
	// One dictionary of the groups' distinct entries; code[g] maps group
	// g's dictionary into it.
	out := &Strings{Offs: []int{0}, Index: make([]uint32, n)}
	var t dictTable
	code := make([][]uint32, groups)
	for g, p := range parts {
		if p == nil {
			continue
		}
		code[g] = make([]uint32, p.DictLen())
		for i := range code[g] {
			e := p.DictEntry(i)
			k, ok := t.index(string(e))
			if !ok {
				k = t.add(string(e))
				out.Data = append(out.Data, e...)
				out.Offs = append(out.Offs, len(out.Data))
			}
			code[g][i] = k
		}
	}
	for i, g := range group {
		out.Index[i] = code[g][parts[g].Index[next[g]]]
		next[g]++
	}
	return out, nil
}
