package engine

import (
	"cmp"
	"container/heap"
	"context"
	"slices"
	"strconv"
	"strings"

	"stele/internal/dremel"
	"stele/internal/jsonstr"
)

// rawEntry is one event a raw query keeps.
type rawEntry struct {
	time  int64
	ord   int64 // blk.ord: among equal times, the earlier block and row win
	sort  []Val // sort key values (with sort)
	cells []Val // projected fields (with fields)
	event []byte
	blk   *block // the block the event must be assembled from, until it is
	row   int
	cost  int64 // memory charged for it, given back if it drops out
}

// newest is a min-heap by time of the newest events seen so far.
type newest []*rawEntry

func (h newest) Len() int           { return len(h) }
func (h newest) Less(i, j int) bool { return before(h[j], h[i]) }

// before reports whether a comes before b in the output: newer, or as new
// and earlier in the source's order.
func before(a, b *rawEntry) bool {
	if a.time != b.time {
		return a.time > b.time
	}
	if a.ord != b.ord {
		return a.ord < b.ord
	}
	return a.row < b.row
}
func (h newest) Swap(i, j int)   { h[i], h[j] = h[j], h[i] }
func (h *newest) Push(x any)     { *h = append(*h, x.(*rawEntry)) }
func (h *newest) Pop() any       { old := *h; e := old[len(old)-1]; *h = old[:len(old)-1]; return e }
func (h newest) full(n int) bool { return len(h) >= n }

func (p *plan) runRaw(ctx context.Context, src Source, out Output) error {
	sorted := len(p.q.Sort) > 0
	var top newest
	var all []*rawEntry
	var pending []*rawEntry // entries of the current block still without their event
	var scratch []Val
	cell := func(fields []fieldData, f, i int) Val {
		scratch = fields[f].values(i, scratch[:0])
		v := firstOrNull(scratch)
		if p.o.Tokens != nil {
			v = p.o.Tokens.cell(p.fields[f], v)
		}
		return v
	}
	skip := func(maxTime int64) bool {
		return !sorted && top.full(p.limit) && maxTime < top[0].time
	}
	// Events are assembled once a block is done, for the entries it
	// still has among the kept ones.
	p.blockDone = func(b *block) error {
		if len(pending) == 0 || len(p.project) > 0 {
			pending = pending[:0]
			return nil
		}
		want := map[int]*rawEntry{}
		for _, e := range pending {
			if e.blk != nil {
				want[e.row] = e
			}
		}
		pending = pending[:0]
		if len(want) == 0 {
			return nil
		}
		// Only the kept records are built; the others are stepped over.
		keep := func(i int) bool { e := want[i]; return e != nil && e.blk != nil }
		return b.some(keep, func(i int, v dremel.Value) error {
			e := want[i]
			if e == nil || e.blk == nil {
				return nil
			}
			if p.o.Tokens != nil {
				p.o.Tokens.record(&v)
			}
			e.event = dremel.AppendJSON(nil, v)
			e.blk = nil
			e.cost += int64(len(e.event))
			return p.mem.charge(int64(len(e.event)))
		})
	}
	defer func() { p.blockDone = nil }()

	err := p.visit(ctx, src, skip, eachRow(func(b *block, fields []fieldData, i int) error {
		t := b.times[i]
		if !sorted && top.full(p.limit) && !before(&rawEntry{time: t, ord: b.ord, row: i}, top[0]) {
			return nil
		}
		e := &rawEntry{time: t, ord: b.ord, blk: b, row: i}
		if sorted {
			for _, f := range p.sort {
				e.sort = append(e.sort, cell(fields, f, i))
			}
		}
		if len(p.project) > 0 {
			for _, f := range p.project {
				e.cells = append(e.cells, cell(fields, f, i))
			}
			e.blk = nil
		}
		e.cost = 128 + int64(len(e.sort)+len(e.cells))*48
		if err := p.mem.charge(e.cost); err != nil {
			return err
		}
		if sorted {
			all = append(all, e)
		} else {
			heap.Push(&top, e)
			if len(top) > p.limit {
				old := heap.Pop(&top).(*rawEntry)
				old.blk = nil // no need to assemble it
				p.mem.release(old.cost)
			}
		}
		pending = append(pending, e)
		return nil
	}))
	if err != nil {
		return err
	}
	var rows []*rawEntry
	if sorted {
		rows = all
		slices.SortStableFunc(rows, func(a, b *rawEntry) int {
			for k, key := range p.q.Sort {
				c := order(a.sort[k], b.sort[k])
				if key.Desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return cmp.Compare(b.time, a.time) // ties: newest first
		})
		if len(rows) > p.limit {
			rows = rows[:p.limit]
		}
	} else {
		rows = []*rawEntry(top)
		slices.SortFunc(rows, func(a, b *rawEntry) int {
			switch {
			case before(a, b):
				return -1
			case before(b, a):
				return 1
			}
			return 0
		})
	}
	if len(p.project) > 0 {
		cols := make([]string, len(p.q.Fields))
		for i, f := range p.q.Fields {
			cols[i] = strings.Join(f.Path, ".")
		}
		if err := out.Begin(Header{Columns: cols, Time: -1}); err != nil {
			return err
		}
		for _, e := range rows {
			if err := out.Row(e.cells); err != nil {
				return err
			}
			p.stats.Rows++
		}
		return nil
	}
	if err := out.Begin(Header{Raw: true, Time: -1}); err != nil {
		return err
	}
	for _, e := range rows {
		if err := out.Event(e.event); err != nil {
			return err
		}
		p.stats.Rows++
	}
	return nil
}

// appendJSON appends v as JSON.
func appendJSON(dst []byte, v Val) []byte {
	switch v.Kind {
	case Null:
		return append(dst, "null"...)
	case Bool:
		return strconv.AppendBool(dst, v.B)
	case Int:
		return strconv.AppendInt(dst, v.I, 10)
	case Num, JSON:
		return append(dst, v.S...)
	}
	return jsonstr.Append(dst, v.S)
}

// AppendJSON appends v as JSON, for outputs.
func AppendJSON(dst []byte, v Val) []byte { return appendJSON(dst, v) }
