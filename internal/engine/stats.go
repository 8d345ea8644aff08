package engine

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"stele/internal/query"
)

// group is one group of a stats query.
type group struct {
	keys []Val // bucket start (with every), then the by values
	aggs []aggState
}

func (p *plan) runStats(ctx context.Context, src Source, out Output) error {
	s := p.q.Stats
	every := s.Every.Nanoseconds()
	var grs []*grouper
	workers, err := p.visitParallel(ctx, src, func(w *plan) blockFunc {
		gr := newGrouper(w)
		grs = append(grs, gr)
		return gr.block
	})
	if err != nil {
		return err
	}
	for _, w := range workers {
		p.stats.Scanned += w.stats.Scanned
		p.stats.Matched += w.stats.Matched
		p.counted += w.counted
	}
	// The workers' groups, merged: no aggregate depends on the order of
	// its values, so the answer is the one a single worker would give.
	groups := grs[0].groups
	for _, gr := range grs[1:] {
		for k, g := range gr.groups {
			have := groups[k]
			if have == nil {
				if len(groups) >= p.o.MaxGroups {
					return tooManyGroups(p.o.MaxGroups)
				}
				groups[k] = g
				continue
			}
			for a := range have.aggs {
				if err := p.mem.charge(have.aggs[a].merge(&p.aggs[a], &g.aggs[a])); err != nil {
					return err
				}
			}
		}
	}
	if p.counted > 0 {
		// Blocks counted from their footers: the one group has no keys.
		g := groups[""]
		if g == nil {
			g = &group{aggs: make([]aggState, len(p.aggs))}
			groups[""] = g
		}
		for k := range g.aggs {
			g.aggs[k].n += p.counted
		}
	}
	if len(groups) == 0 && len(p.by) == 0 && every == 0 {
		// Without groups the answer is one row even over nothing, as
		// "stats count" answering 0 is what anyone expects.
		groups[""] = &group{aggs: make([]aggState, len(p.aggs))}
	}

	outs := s.Outputs()
	cols := make([]string, len(outs))
	for i, f := range outs {
		cols[i] = strings.Join(f.Path, ".")
	}
	h := Header{Columns: cols, Time: -1, Keys: len(p.by)}
	if every > 0 {
		h.Time = 0
	}
	all := make([]*group, 0, len(groups))
	for _, g := range groups {
		all = append(all, g)
	}
	rows := make([][]Val, len(all))
	// Results (percentiles select among all their values) are worked out
	// by as many workers as scanned, each taking the next group.
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(len(workers), len(all)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(all) {
					return
				}
				g := all[i]
				row := append(slices.Clone(g.keys), make([]Val, len(p.aggs))...)
				for k := range p.aggs {
					row[len(g.keys)+k] = g.aggs[k].result(&p.aggs[k])
				}
				rows[i] = row
			}
		})
	}
	wg.Wait()
	// One row per group, sorted by group keys (time first).
	nkeys := len(p.by)
	if every > 0 {
		nkeys++
	}
	slices.SortFunc(rows, func(a, b []Val) int {
		for i := range nkeys {
			if c := order(a[i], b[i]); c != 0 {
				return c
			}
		}
		return 0
	})
	colIndex := func(f query.Field, _ bool) (int, error) {
		name := strings.Join(f.Path, ".")
		for i, c := range cols {
			if c == name {
				return i, nil
			}
		}
		return 0, query.ErrorAt(f.Pos, "%s is not an output of stats; outputs: %s", f, strings.Join(cols, ", "))
	}
	if len(p.q.After) > 0 {
		var c query.Cond = &query.And{Conds: p.q.After}
		if len(p.q.After) == 1 {
			c = p.q.After[0]
		}
		// Outputs are already tokens where they hold personal data.
		pr, err := compile(c, colIndex, nil)
		if err != nil {
			return err
		}
		kept := rows[:0]
		var sc []Val
		for _, r := range rows {
			if pr(outRow(r), sc) {
				kept = append(kept, r)
			}
		}
		rows = kept
	}
	if len(p.q.Sort) > 0 {
		keys := make([]int, len(p.q.Sort))
		for i, k := range p.q.Sort {
			ci, err := colIndex(k.Field, false)
			if err != nil {
				return err
			}
			keys[i] = ci
		}
		slices.SortStableFunc(rows, func(a, b []Val) int {
			for i, k := range p.q.Sort {
				c := order(a[keys[i]], b[keys[i]])
				if k.Desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0
		})
	}
	if len(rows) > p.limit {
		rows = rows[:p.limit]
	}
	if len(p.q.Fields) > 0 {
		idx := make([]int, len(p.q.Fields))
		names := make([]string, len(p.q.Fields))
		for i, f := range p.q.Fields {
			ci, err := colIndex(f, false)
			if err != nil {
				return err
			}
			idx[i], names[i] = ci, cols[ci]
		}
		for r, row := range rows {
			pr := make([]Val, len(idx))
			for i, ci := range idx {
				pr[i] = row[ci]
			}
			rows[r] = pr
		}
		h = Header{Columns: names, Time: -1}
	}
	if err := out.Begin(h); err != nil {
		return err
	}
	for _, r := range rows {
		if err := out.Row(r); err != nil {
			return err
		}
		p.stats.Rows++
	}
	return nil
}

// outRow is a stats output row as conditions read it: a null value is
// a field the row lacks.
type outRow []Val

func (r outRow) exists(i int) bool { return r[i].Kind != Null }

func (r outRow) values(i int, dst []Val) []Val {
	if r[i].Kind == Null {
		return dst
	}
	return append(dst, r[i])
}
