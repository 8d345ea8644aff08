package engine

import (
	"context"
	"math"

	"stele/internal/dremel"
	"stele/internal/ingest"
	"stele/internal/query"
)

// Follower evaluates a follow query's conditions on records as they
// arrive, after Run sent the stored matches.
type Follower struct {
	p *plan
}

// NewFollower compiles q, which must have follow, for new records.
func NewFollower(q *query.Query, o Options) (*Follower, error) {
	if !q.Follow || q.Stats != nil {
		return nil, query.ErrorAt(query.Pos{Line: q.Lines.Follow}, "not a follow query")
	}
	p, err := newPlan(q, o)
	if err != nil {
		return nil, err
	}
	p.limit = math.MaxInt
	p.oldestFirst = true
	return &Follower{p: p}, nil
}

// Feed sends the records of recs that match, oldest first, to out (whose
// Begin Run already called): events, or rows of the fields projected.
func (f *Follower) Feed(ctx context.Context, recs []ingest.Record, out Output) (Stats, error) {
	p := f.p
	p.stats = Stats{}
	var scratch []Val
	var matched []int
	var cells [][]Val
	p.blockDone = func(b *block) error {
		defer func() { matched, cells = matched[:0], cells[:0] }()
		if len(p.project) > 0 {
			for _, c := range cells {
				if err := out.Row(c); err != nil {
					return err
				}
				p.stats.Rows++
			}
			return nil
		}
		k := 0
		return b.records(func(i int, v dremel.Value) error {
			if k == len(matched) || matched[k] != i {
				return nil
			}
			k++
			if p.o.Tokens != nil {
				p.o.Tokens.record(&v)
			}
			p.stats.Rows++
			return out.Event(dremel.AppendJSON(nil, v))
		})
	}
	err := p.visitMemory(ctx, recs, func(int64) bool { return false }, eachRow(func(b *block, fields []fieldData, i int) error {
		if len(p.project) == 0 {
			matched = append(matched, i)
			return nil
		}
		row := make([]Val, len(p.project))
		for k, fi := range p.project {
			scratch = fields[fi].values(i, scratch[:0])
			v := firstOrNull(scratch)
			if p.o.Tokens != nil {
				v = p.o.Tokens.cell(p.fields[fi], v)
			}
			row[k] = v
		}
		cells = append(cells, row)
		return nil
	}))
	return p.stats, err
}
