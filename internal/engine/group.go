package engine

import (
	"math"
	"math/bits"
	"slices"

	"github.com/zeebo/xxh3"

	"stele/internal/dremel"
)

// grouper folds the selected rows of blocks into the groups of a stats
// query, a block at a time. Each key of the group (the every bucket, then
// each by field) is a dimension: per block, every selected row gets a
// small id in each dimension (a dictionary code, an integer's offset from
// the block's smallest, or an id handed out per distinct value), the ids
// combine into one number per row, and only the first row of each number
// in a block builds the key and looks the group up. Aggregates then run
// down the columns with each row's group at hand.
type grouper struct {
	p      *plan
	every  int64
	groups map[string]*group

	// Per-block scratch, kept between blocks.
	dims    []dim
	idbufs  [][]uint32 // dim.ids of each dimension
	buckets []int64
	withVal []int32
	comp    []uint64
	gs      []*group
	table   []*group
	key     []byte
	keyVals []Val
	scratch []Val
	seen    []*group
	dkeys   []xxh3.Uint128
	dknown  []bool
	used    []uint64 // a bit per dictionary code
}

// dim is one dimension of the group key in one block: the id of each
// selected row, how many ids there may be, and the key value of an id.
type dim struct {
	ids []uint32
	n   uint64
	val func(id uint32) Val
}

func tooManyGroups(max int) error {
	return limitf("the query makes more than %d groups; narrow it with since or where, or group by fewer fields or a longer every", max)
}

func newGrouper(p *plan) *grouper {
	return &grouper{p: p, every: p.q.Stats.Every.Nanoseconds(), groups: map[string]*group{}}
}

// block folds the rows sel of b in.
func (g *grouper) block(b *block, fields []fieldData, sel []int32) error {
	p := g.p
	g.dims = g.dims[:0]
	if g.every > 0 {
		g.dims = append(g.dims, g.everyDim(b, sel))
	}
	for _, f := range p.by {
		g.dims = append(g.dims, g.byDim(&fields[f], p.fields[f], sel))
	}

	// Each row's group, found once per number in a table.
	g.gs = slices.Grow(g.gs[:0], len(sel))[:len(sel)]
	var err error
	switch {
	case len(g.dims) == 0 && len(sel) > 0:
		// No dimension: one group.
		var gr *group
		if gr, err = g.find(0); err == nil {
			for j := range g.gs {
				g.gs[j] = gr
			}
		}
	case len(g.dims) == 1 && g.dims[0].n <= maxTableID:
		// One dimension: its ids are the numbers.
		err = findGroups(g, g.dims[0].ids, g.dims[0].n)
	default:
		err = findGroups(g, g.comp, g.combine())
	}
	if err != nil {
		return err
	}

	for k := range p.aggs {
		grew := g.aggregate(k, fields, sel)
		if grew != 0 {
			if err := p.mem.charge(grew); err != nil {
				return err
			}
		}
	}
	return nil
}

// combine makes one number per row from its ids in g.comp, mixed radix,
// and returns how many numbers there may be. When the product of the
// dimensions' sizes passes maxTableID, the numbers so far are numbered
// densely (at most one per row), so the table of groups stays small and
// nothing overflows.
func (g *grouper) combine() uint64 {
	g.comp = slices.Grow(g.comp[:0], len(g.gs))[:len(g.gs)]
	if len(g.dims) == 0 {
		clear(g.comp)
	}
	radix := uint64(1)
	for di, d := range g.dims {
		if radix > maxTableID {
			radix = g.densify()
		}
		if di == 0 {
			for j, id := range d.ids {
				g.comp[j] = uint64(id)
			}
		} else {
			for j, id := range d.ids {
				g.comp[j] = g.comp[j]*d.n + uint64(id)
			}
		}
		radix *= d.n
	}
	if radix > maxTableID {
		radix = g.densify()
	}
	return radix
}

// findGroups sets g.gs[j] to the group of row j, whose number is nums[j],
// below radix.
func findGroups[K uint32 | uint64](g *grouper, nums []K, radix uint64) error {
	if uint64(len(g.table)) < radix {
		g.table = make([]*group, radix)
	}
	table := g.table[:radix]
	clear(table)
	for j, c := range nums {
		gr := table[c]
		if gr == nil {
			var err error
			if gr, err = g.find(j); err != nil {
				return err
			}
			table[c] = gr
		}
		g.gs[j] = gr
	}
	return nil
}

// densify replaces the rows' numbers by dense ones and returns how many
// there are.
func (g *grouper) densify() uint64 {
	ids := make([]uint32, len(g.comp))
	uniq := firstSeen(ids, func(j int) uint64 { return g.comp[j] })
	for j, id := range ids {
		g.comp[j] = uint64(id)
	}
	return uint64(len(uniq))
}

// firstSeen sets ids[j] to the id of key(j): 0, 1, ... in order of first
// appearance. It returns the keys by id.
func firstSeen[K comparable](ids []uint32, key func(j int) K) []K {
	seen := make(map[K]uint32)
	var uniq []K
	for j := range ids {
		k := key(j)
		id, ok := seen[k]
		if !ok {
			id = uint32(len(uniq))
			seen[k] = id
			uniq = append(uniq, k)
		}
		ids[j] = id
	}
	return uniq
}

// find returns the group of selected row j, making it if it is new.
func (g *grouper) find(j int) (*group, error) {
	p := g.p
	g.key, g.keyVals = g.key[:0], g.keyVals[:0]
	for _, d := range g.dims {
		v := d.val(d.ids[j])
		g.keyVals = append(g.keyVals, v)
		g.key = appendKey(g.key, v)
	}
	gr := g.groups[string(g.key)]
	if gr != nil {
		return gr, nil
	}
	if len(g.groups) >= p.o.MaxGroups {
		return nil, tooManyGroups(p.o.MaxGroups)
	}
	gr = &group{keys: slices.Clone(g.keyVals), aggs: make([]aggState, len(p.aggs))}
	g.groups[string(g.key)] = gr
	cost := int64(len(g.key)) + 64 + int64(len(p.aggs))*96
	for _, v := range g.keyVals {
		cost += v.size()
	}
	return gr, p.mem.charge(cost)
}

// ids returns n zeros for the ids of the next dimension of the block,
// reusing the memory of earlier blocks.
func (g *grouper) ids(n int) []uint32 {
	d := len(g.dims)
	for len(g.idbufs) <= d {
		g.idbufs = append(g.idbufs, nil)
	}
	b := slices.Grow(g.idbufs[d][:0], n)[:n]
	clear(b)
	g.idbufs[d] = b
	return b
}

// everyDim is the bucket of each row: time_ns - time_ns mod every.
func (g *grouper) everyDim(b *block, sel []int32) dim {
	every := g.every
	// Rows of a block mostly come in time order, so a row is mostly in
	// the bucket of the row before: it costs a comparison rather than a
	// division. Buckets of negative times, rounded towards zero, hold
	// 2·every-1 times and are always computed.
	g.buckets = slices.Grow(g.buckets[:0], len(sel))[:len(sel)]
	buckets := g.buckets
	cur, curOK := int64(0), false
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for j, i := range sel {
		t := b.times[i]
		if !curOK || t < cur || t-cur >= every {
			cur = t - t%every
			curOK = t >= 0
			lo, hi = min(lo, cur), max(hi, cur)
		}
		buckets[j] = cur
	}
	ids := g.ids(len(sel))
	if span := uint64(hi-lo) / uint64(every); span < maxDimIDs {
		prev, id := lo, uint32(0)
		for j, bk := range buckets {
			if bk != prev {
				prev, id = bk, uint32((bk-lo)/every)
			}
			ids[j] = id
		}
		return dim{ids: ids, n: span + 1, val: func(id uint32) Val { return intVal(lo + int64(id)*every) }}
	}
	uniq := firstSeen(ids, func(j int) int64 { return buckets[j] })
	return dim{ids: ids, n: uint64(len(uniq)), val: func(id uint32) Val { return intVal(uniq[id]) }}
}

// byDim is the key value of a by field: its first value (see
// firstOrNull), as the client may see it. Id 0 is null in the fast cases.
func (g *grouper) byDim(fd *fieldData, path []string, sel []int32) dim {
	tok := g.p.o.Tokens
	cell := func(v Val) Val {
		if tok != nil {
			return tok.cell(path, v)
		}
		return v
	}
	ids := g.ids(len(sel))
	null := func(uint32) Val { return Val{Kind: Null} }
	if len(fd.cols) == 0 {
		return dim{ids: ids, n: 1, val: null}
	}
	if fc, ok := fd.flatLeaf(); ok {
		switch {
		case fc.typ == dremel.String && fc.col.Codes != nil && len(fc.col.Dict) < maxDimIDs:
			dict, codes := fc.col.Dict, fc.col.Codes
			if len(codes) > 0 {
				// Without branches: a row without a value (vi < 0,
				// neg = -1) looks at code 0 and gets id 0.
				for j, i := range sel {
					vi := fc.val[i]
					neg := vi >> 31
					ids[j] = (codes[vi&^neg] + 1) &^ uint32(neg)
				}
			}
			return dim{ids: ids, n: uint64(len(dict)) + 1, val: func(id uint32) Val {
				if id == 0 {
					return Val{Kind: Null}
				}
				return cell(Val{Kind: Str, S: dict[id-1]})
			}}
		case fc.typ == dremel.Int:
			ints := fc.col.Ints
			var lo, hi int64
			any := false
			for _, i := range sel {
				if vi := fc.val[i]; vi >= 0 {
					x := ints[vi]
					if !any {
						lo, hi, any = x, x, true
					}
					lo, hi = min(lo, x), max(hi, x)
				}
			}
			if !any {
				return dim{ids: ids, n: 1, val: null}
			}
			if span := uint64(hi - lo); span < maxDimIDs {
				for j, i := range sel {
					if vi := fc.val[i]; vi >= 0 {
						ids[j] = uint32(ints[vi]-lo) + 1
					}
				}
				return dim{ids: ids, n: span + 2, val: func(id uint32) Val {
					if id == 0 {
						return Val{Kind: Null}
					}
					return cell(intVal(lo + int64(id-1)))
				}}
			}
		}
	}
	// Any other field: an id per distinct key value.
	seen := make(map[string]uint32)
	var uniq []Val
	var key []byte
	for j, i := range sel {
		g.scratch = fd.values(int(i), g.scratch[:0])
		v := cell(firstOrNull(g.scratch))
		key = appendKey(key[:0], v)
		id, ok := seen[string(key)]
		if !ok {
			id = uint32(len(uniq))
			seen[string(key)] = id
			uniq = append(uniq, v)
		}
		ids[j] = id
	}
	return dim{ids: ids, n: max(uint64(len(uniq)), 1), val: func(id uint32) Val { return uniq[id] }}
}

// aggregate folds aggregate k of the rows sel into their groups (g.gs)
// and returns the memory the states took.
func (g *grouper) aggregate(k int, fields []fieldData, sel []int32) int64 {
	spec := &g.p.aggs[k]
	gs := g.gs
	if spec.field < 0 { // count
		for j := range sel {
			gs[j].aggs[k].n++
		}
		return 0
	}
	fd := &fields[spec.field]
	if len(fd.cols) == 0 {
		return 0 // no values: nothing to fold in
	}
	fc, flat := fd.flatLeaf()
	var grew int64
	switch {
	case flat && spec.fn == "count":
		for j, i := range sel {
			if fc.val[i] >= 0 {
				gs[j].aggs[k].n++
			}
		}
		return 0
	case flat && fc.typ == dremel.Int && spec.permille > 0:
		// The rows with a value first, without branches (whether a row
		// has one is often a coin toss); then their values.
		ints := fc.col.Ints
		g.withVal = slices.Grow(g.withVal[:0], len(sel))[:len(sel)]
		n := 0
		for j, i := range sel {
			g.withVal[n] = int32(j)
			n += int(^fc.val[i] >> 31 & 1)
		}
		// A value its group's histogram holds is counted in line.
		rows := g.withVal[:n]
		if len(sel) == len(fc.val) {
			// Every row: the values are the column's, in order.
			for v, j := range rows {
				if st := &gs[j].aggs[k]; st.vals != nil || !st.ints.count(ints[v]) {
					grew += st.addInt(spec, ints[v])
				}
			}
			return grew
		}
		for _, j := range rows {
			x := ints[fc.val[sel[j]]]
			if st := &gs[j].aggs[k]; st.vals != nil || !st.ints.count(x) {
				grew += st.addInt(spec, x)
			}
		}
		return grew
	case flat && fc.typ == dremel.Int && spec.fn != "distinct":
		ints := fc.col.Ints
		for j, i := range sel {
			if vi := fc.val[i]; vi >= 0 {
				grew += gs[j].aggs[k].addInt(spec, ints[vi])
			}
		}
		return grew
	case flat && spec.fn == "distinct" && fc.typ == dremel.String && fc.col.Codes != nil && len(g.dims) == 0:
		// One group: the codes the rows use, marked in a bitmap, then
		// each used code's key once.
		dict, codes := fc.col.Dict, fc.col.Codes
		if len(sel) == 0 || len(codes) == 0 {
			return 0
		}
		g.used = slices.Grow(g.used[:0], (len(dict)+63)/64)[:(len(dict)+63)/64]
		used := g.used
		clear(used)
		if len(sel) == len(fc.val) { // every row: every value
			for _, c := range codes {
				used[c>>6] |= 1 << (c & 63)
			}
		} else {
			// Without branches: a row without a value (vi < 0, neg =
			// -1) looks at code 0 and marks nothing.
			for _, i := range sel {
				vi := fc.val[i]
				neg := vi >> 31
				c := codes[vi&^neg]
				used[c>>6] |= uint64(^neg&1) << (c & 63)
			}
		}
		st := &gs[0].aggs[k]
		for w, word := range used {
			for ; word != 0; word &= word - 1 {
				grew += st.addKey(strKey(dict[w*64+bits.TrailingZeros64(word)]))
			}
		}
		return grew
	case flat && spec.fn == "distinct" && fc.typ == dremel.String && fc.col.Codes != nil:
		// A value is looked up once per group and block: seen holds the
		// group that last counted each code.
		dict, codes := fc.col.Dict, fc.col.Codes
		g.seen = slices.Grow(g.seen[:0], len(dict))[:len(dict)]
		clear(g.seen)
		g.dkeys = slices.Grow(g.dkeys[:0], len(dict))[:len(dict)]
		g.dknown = slices.Grow(g.dknown[:0], len(dict))[:len(dict)]
		clear(g.dknown)
		for j, i := range sel {
			vi := fc.val[i]
			if vi < 0 {
				continue
			}
			c, gr := codes[vi], gs[j]
			if g.seen[c] == gr {
				continue
			}
			g.seen[c] = gr
			if !g.dknown[c] {
				g.dkeys[c], g.dknown[c] = strKey(dict[c]), true
			}
			grew += gr.aggs[k].addKey(g.dkeys[c])
		}
		return grew
	}
	for j, i := range sel {
		g.scratch = fd.values(int(i), g.scratch[:0])
		grew += gs[j].aggs[k].add(spec, g.scratch)
	}
	return grew
}
