package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"stele/internal/dremel"
	"stele/internal/ingest"
	"stele/internal/query"
	"stele/internal/segment"
	"stele/internal/table"
)

// Source is what a query reads: segments and memory records of one
// consistent view of the store (ingest.View), each record once.
type Source struct {
	Segments []*table.Segment
	Mem      []ingest.Record
}

// Options bound and shape one run.
type Options struct {
	Now       time.Time  // what relative times count back from
	MaxMemory int64      // 0: DefaultMaxMemory
	MaxGroups int        // 0: DefaultMaxGroups
	Tokens    *Tokenizer // nil: the client sees personal data

	// Cache, if set, keeps segment footers and decoded columns for
	// later runs (and other runs at the same time) that share it.
	Cache *segment.Cache
}

// Header describes the rows that follow.
type Header struct {
	Columns []string // output names; empty for raw events
	Time    int      // index of the bucket start of an every query, or -1
	Keys    int      // group key columns after Time
	Raw     bool     // rows are whole events (Output.Event)
}

// Output receives a query's result, in order.
type Output interface {
	Begin(h Header) error
	Row(vals []Val) error
	Event(line []byte) error
}

// Stats say what a run did.
type Stats struct {
	Scanned int64 // records read (in blocks not skipped)
	Matched int64 // records that passed the time range and where
	Rows    int64 // rows or events sent
}

// plan is a compiled query.
type plan struct {
	q        *query.Query
	o        Options
	from, to int64
	fields   [][]string   // paths read, by index
	presence map[int]bool // fields whose objects count for exists: read the leaves under them too
	where    vpred
	zone     zone // where on a block's zone maps; nil without where
	by       []int
	aggs     []aggSpec
	sort     []int // raw: field indexes of sort keys
	project  []int // raw with fields: field indexes
	limit    int
	mem      *budget // shared by the plan's workers
	stats    Stats
	scratch  blockScratch

	// oldestFirst makes memory records visited in the order they came
	// (follow), not newest first.
	oldestFirst bool

	// countOnly: the query is stats of plain counts with no where, by or
	// every, so a block wholly inside the time range adds its row count
	// to counted, from the footer, without reading a column.
	countOnly bool
	counted   int64

	// needTimes: rows need their time_ns (raw events, every), not only
	// whether they are in the time range.
	needTimes bool

	// blockDone, if set, runs after each block's records were visited,
	// while the block can still be read.
	blockDone func(b *block) error
}

func (p *plan) field(f query.Field) (int, error) {
	for i, path := range p.fields {
		if slices.Equal(path, f.Path) {
			return i, nil
		}
	}
	p.fields = append(p.fields, f.Path)
	return len(p.fields) - 1, nil
}

// newPlan compiles q.
func newPlan(q *query.Query, o Options) (*plan, error) {
	if o.MaxMemory == 0 {
		o.MaxMemory = DefaultMaxMemory
	}
	if o.MaxGroups == 0 {
		o.MaxGroups = DefaultMaxGroups
	}
	p := &plan{presence: map[int]bool{}, q: q, o: o, from: 0, to: math.MaxInt64, limit: q.Limit, mem: &budget{max: o.MaxMemory}, needTimes: true}
	if q.Since != nil {
		p.from = q.Since.Resolve(o.Now)
	}
	if q.Until != nil {
		p.to = q.Until.Resolve(o.Now)
	}
	if len(q.Where) > 0 {
		var c query.Cond = &query.And{Conds: q.Where}
		if len(q.Where) == 1 {
			c = q.Where[0]
		}
		res := func(f query.Field, exists bool) (int, error) {
			i, err := p.field(f)
			if exists {
				p.presence[i] = true
			}
			return i, err
		}
		w, err := compileVec(c, res, o.Tokens)
		if err != nil {
			return nil, err
		}
		if p.zone, err = compileZone(c, res, o.Tokens); err != nil {
			return nil, err
		}
		p.where = w
	}
	if s := q.Stats; s != nil {
		for _, f := range s.By {
			i, _ := p.field(f)
			p.by = append(p.by, i)
		}
		for k := range s.Aggs {
			a := &s.Aggs[k]
			fi := -1
			if a.Field != nil {
				fi, _ = p.field(*a.Field)
				if o.Tokens != nil && isPII(a.Field.Path) && a.Func != "count" && a.Func != "distinct" {
					return nil, query.ErrorAt(a.Pos, "%s holds personal data: without pii access only count and distinct aggregate it", a.Field)
				}
			}
			p.aggs = append(p.aggs, newAggSpec(a, fi))
		}
		if p.limit < 0 {
			p.limit = math.MaxInt
		}
		p.needTimes = s.Every > 0
		p.countOnly = len(q.Where) == 0 && len(p.by) == 0 && s.Every == 0
		for _, a := range p.aggs {
			p.countOnly = p.countOnly && a.fn == "count" && a.field < 0
		}
		return p, nil
	}
	for _, k := range q.Sort {
		i, _ := p.field(k.Field)
		p.sort = append(p.sort, i)
	}
	for _, f := range q.Fields {
		i, _ := p.field(f)
		p.project = append(p.project, i)
	}
	if p.limit < 0 {
		p.limit = defaultRawLimit
	}
	return p, nil
}

// Run runs q over src and sends the result to out.
func Run(ctx context.Context, q *query.Query, src Source, o Options, out Output) (Stats, error) {
	p, err := newPlan(q, o)
	if err != nil {
		return Stats{}, err
	}
	if q.Stats != nil {
		err = p.runStats(ctx, src, out)
	} else {
		err = p.runRaw(ctx, src, out)
	}
	return p.stats, err
}

// unit is a part of the source scanned as a whole: a segment, or memory.
type unit struct {
	seg      *table.Segment
	mem      []ingest.Record
	min, max int64
}

func (p *plan) units(src Source) []unit {
	var us []unit
	if len(src.Mem) > 0 {
		u := unit{mem: src.Mem, min: math.MaxInt64, max: math.MinInt64}
		for _, r := range src.Mem {
			u.min, u.max = min(u.min, r.TimeNS), max(u.max, r.TimeNS)
		}
		us = append(us, u)
	}
	for _, s := range src.Segments {
		us = append(us, unit{seg: s, min: s.MinTime, max: s.MaxTime})
	}
	// Newest first, for raw events' early stop.
	slices.SortStableFunc(us, func(a, b unit) int { return cmp.Compare(b.max, a.max) })
	return us
}

// visit calls fn for every record of src in the time range that passes
// where, a block at a time; skip says whether a block whose newest record
// is at maxTime can be left out.
func (p *plan) visit(ctx context.Context, src Source, skip func(maxTime int64) bool, fn blockFunc) error {
	for k, u := range p.units(src) {
		if u.max < p.from || u.min >= p.to || skip(u.max) {
			continue
		}
		ord := int64(k) << 32
		var err error
		if u.seg != nil {
			err = p.visitSegment(ctx, u.seg, ord, skip, fn)
		} else {
			err = p.visitMemoryAt(ctx, u.mem, ord, skip, fn)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// parallelism is how many workers a query may use; 0 means GOMAXPROCS.
// Tests set it so that several run even on one core.
var parallelism = 0

// fork returns a plan for one of p's workers: its own scratch, stats and
// counts; the same compiled query and memory budget.
func (p *plan) fork() *plan {
	w := *p
	w.stats, w.scratch, w.counted, w.blockDone = Stats{}, blockScratch{}, 0, nil
	return &w
}

// visitParallel is visit for a query whose answer does not depend on the
// order in which blocks are visited (stats): the blocks of the time range
// go to up to GOMAXPROCS workers, each a fork of p calling its own
// function (newFn, called for each before any starts). It returns the
// workers; the first error of any ends them all.
func (p *plan) visitParallel(ctx context.Context, src Source, newFn func(w *plan) blockFunc) ([]*plan, error) {
	type task struct {
		sf  *segFile // a block of a segment
		bi  int
		mem []ingest.Record // or memory records
		ord int64
	}
	var tasks []task
	var open []*segFile
	defer func() {
		for _, sf := range open {
			sf.f.Close()
		}
	}()
	for k, u := range p.units(src) {
		if u.max < p.from || u.min >= p.to {
			continue
		}
		ord := int64(k) << 32
		if u.seg == nil {
			for i := 0; i < len(u.mem); i += memBatch {
				tasks = append(tasks, task{mem: u.mem[i:min(i+memBatch, len(u.mem))], ord: ord | int64(i/memBatch)})
			}
			continue
		}
		sf, err := p.openSegment(u.seg)
		if err != nil {
			return nil, err
		}
		open = append(open, sf)
		for _, bi := range p.blocks(sf) {
			tasks = append(tasks, task{sf: sf, bi: bi, ord: ord})
		}
	}
	workers := 1
	if len(tasks) >= parallelMin {
		workers = min(cmp.Or(parallelism, runtime.GOMAXPROCS(0)), len(tasks))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next  atomic.Int64
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	plans := make([]*plan, workers)
	fns := make([]blockFunc, workers)
	for w := range plans {
		plans[w] = p.fork()
		fns[w] = newFn(plans[w])
	}
	noSkip := func(int64) bool { return false }
	// Workers take runs of neighbouring blocks, shorter as fewer are
	// left: blocks of the same time then mostly go to the same worker,
	// whose groups (every buckets) the others need not make and merge,
	// and the last runs are short enough to keep every worker busy.
	take := func() (from, to int) {
		for {
			from := int(next.Load())
			if from >= len(tasks) {
				return 0, 0
			}
			to := from + max(1, (len(tasks)-from)/(4*workers))
			if next.CompareAndSwap(int64(from), int64(to)) {
				return from, to
			}
		}
	}
	for w, wp := range plans {
		wg.Go(func() {
			for {
				from, to := take()
				if from == to {
					return
				}
				for _, t := range tasks[from:to] {
					var err error
					if t.sf != nil {
						err = wp.visitSegmentBlock(ctx, t.sf, t.ord, t.bi, fns[w])
					} else {
						err = wp.visitMemoryAt(ctx, t.mem, t.ord, noSkip, fns[w])
					}
					if err != nil {
						mu.Lock()
						if first == nil {
							first = err
						}
						mu.Unlock()
						cancel() // the others stop at their next block
						return
					}
				}
			}
		})
	}
	wg.Wait()
	return plans, first
}

// segFile is an open segment.
type segFile struct {
	s           *table.Segment
	f           *segment.File
	timeLeaf    int     // the leaf of the top-level integer time_ns, or -1
	fieldLeaves [][]int // the leaves at the path of each of the plan's fields
}

// openSegment opens s for p.
func (p *plan) openSegment(s *table.Segment) (*segFile, error) {
	var f *segment.File
	var err error
	if p.o.Cache != nil {
		f, err = p.o.Cache.OpenFile(s.Path())
	} else {
		f, err = segment.OpenFile(s.Path())
	}
	if err != nil {
		return nil, fmt.Errorf("engine: segment %s: %w", s.Info, err)
	}
	sf := &segFile{s: s, f: f, timeLeaf: -1}
	for i, leaf := range f.Schema.Leaves {
		if leaf.Type == dremel.Int && slices.Equal(leaf.Path(), []string{"time_ns"}) && leaf.MaxR() == 0 {
			sf.timeLeaf = i
		}
	}
	sf.fieldLeaves = make([][]int, len(p.fields))
	for i, path := range p.fields {
		for leaf, f := range f.Schema.Leaves {
			if slices.Equal(f.Path(), path) {
				sf.fieldLeaves[i] = append(sf.fieldLeaves[i], leaf)
			}
		}
	}
	return sf, nil
}

// blocks returns the blocks whose zone maps overlap the time range and
// may hold records that pass where, newest first, so that once a raw
// query holds its limit the older blocks are skipped unread.
func (p *plan) blocks(sf *segFile) []int {
	var blocks []int
	for i := range sf.f.Blocks {
		blk := &sf.f.Blocks[i]
		if blk.HasTime && (blk.MaxTime < p.from || blk.MinTime >= p.to) {
			continue
		}
		if p.zone != nil && !p.zone(sf, blk) {
			continue
		}
		blocks = append(blocks, i)
	}
	slices.SortStableFunc(blocks, func(a, b int) int { return cmp.Compare(sf.f.Blocks[b].MaxTime, sf.f.Blocks[a].MaxTime) })
	return blocks
}

func (p *plan) visitSegment(ctx context.Context, s *table.Segment, ord int64, skip func(int64) bool, fn blockFunc) error {
	sf, err := p.openSegment(s)
	if err != nil {
		return err
	}
	defer sf.f.Close()
	for _, bi := range p.blocks(sf) {
		if blk := &sf.f.Blocks[bi]; blk.HasTime && skip(blk.MaxTime) {
			continue
		}
		if err := p.visitSegmentBlock(ctx, sf, ord, bi, fn); err != nil {
			return err
		}
	}
	return nil
}

// visitSegmentBlock visits block bi of a segment.
func (p *plan) visitSegmentBlock(ctx context.Context, sf *segFile, ord int64, bi int, fn blockFunc) error {
	f := sf.f
	blk := &f.Blocks[bi]
	if p.countOnly && blk.HasTime && blk.MinTime >= p.from && blk.MaxTime < p.to {
		p.counted += int64(blk.Rows)
		p.stats.Scanned += int64(blk.Rows)
		p.stats.Matched += int64(blk.Rows)
		return nil
	}
	b := &block{
		rows:   blk.Rows,
		ord:    ord | int64(bi),
		schema: f.Schema,
		read:   func(leaf int) (*dremel.Column, error) { return f.ReadColumnCoded(bi, leaf) },
		has:    func(leaf int) bool { return blk.Chunk(leaf) != nil },
		records: func(emit func(int, dremel.Value) error) error {
			return f.AssembleSome(bi, nil, nil, emit)
		},
		some: func(want func(int) bool, emit func(int, dremel.Value) error) error {
			return f.AssembleSome(bi, nil, want, emit)
		},
	}
	err := func() error {
		if !p.needTimes && blk.HasTime && blk.MinTime >= p.from && blk.MaxTime < p.to && sf.timeLeaf >= 0 {
			// Every record is in the time range if every record has a
			// time: then the times need not be read.
			all, err := f.Complete(bi, sf.timeLeaf)
			if all || err != nil {
				b.allIn = true
				return err
			}
		}
		var col *dremel.Column
		if sf.timeLeaf >= 0 && b.has(sf.timeLeaf) {
			var err error
			if col, err = b.read(sf.timeLeaf); err != nil {
				return err
			}
			if col.Len() == b.rows && len(col.Ints) == b.rows {
				b.times = col.Ints // every record has its time; read only
				return nil
			}
		}
		p.scratch.times = slices.Grow(p.scratch.times[:0], blk.Rows)[:blk.Rows]
		b.times = p.scratch.times
		for i := range b.times {
			b.times[i] = -1
		}
		if col == nil {
			return nil
		}
		fc, err := index(col, f.Schema.Leaves[sf.timeLeaf], b.rows, p.scratch.int32s(col.Len()))
		if err != nil {
			return err
		}
		for i, vi := range fc.val {
			if vi >= 0 {
				b.times[i] = col.Ints[vi]
			}
		}
		return nil
	}()
	if err == nil {
		err = p.visitBlock(ctx, b, fn)
	}
	if err != nil && !errors.Is(err, ErrLimit) { // a limit's message is the client's: no file names
		err = fmt.Errorf("engine: segment %s: %w", sf.s.Info, err)
	}
	return err
}

func (p *plan) visitMemory(ctx context.Context, recs []ingest.Record, skip func(int64) bool, fn blockFunc) error {
	return p.visitMemoryAt(ctx, recs, 0, skip, fn)
}

// visitMemoryAt is visitMemory for a unit whose first block's ord is ord.
func (p *plan) visitMemoryAt(ctx context.Context, recs []ingest.Record, ord int64, skip func(int64) bool, fn blockFunc) error {
	var parser dremel.Parser
	var buf []byte
	n := min(len(recs), memBatch) // a few records need no 16K batch
	vals := make([]dremel.Value, 0, n)
	times := make([]int64, 0, n)
	flush := func() error {
		if len(vals) == 0 {
			return nil
		}
		b, err := shredBlock(vals, times)
		if err != nil {
			return fmt.Errorf("engine: memory: %w", err)
		}
		b.ord = ord
		ord++
		err = p.visitBlock(ctx, b, fn)
		vals, times = vals[:0], times[:0]
		return err
	}
	// Newest first: memory holds records in the order they came, mostly
	// by time, so a raw query's heap fills with the newest early and skip
	// then spares the parsing of the rest.
	for n := range recs {
		r := recs[len(recs)-1-n]
		if p.oldestFirst {
			r = recs[n]
		}
		if r.TimeNS < p.from || r.TimeNS >= p.to || skip(r.TimeNS) {
			continue
		}
		buf = table.AppendRecord(buf[:0], r.Source, r.Line, r.TimeNS)
		v, err := parser.ParseEvent(string(buf))
		if err != nil {
			// As the table's writer does with a line the columnar format
			// refuses (nested too deeply): keep the text whole.
			buf = table.AppendWrapped(buf[:0], r.Source, r.Line, r.TimeNS)
			if v, err = parser.ParseEvent(string(buf)); err != nil {
				return fmt.Errorf("engine: memory record of %s: %w", r.Source, err)
			}
		}
		vals = append(vals, v)
		times = append(times, r.TimeNS)
		if len(vals) == memBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// blockFunc receives the rows of a block that are in the time range and
// pass where: sel, in increasing order, never empty.
type blockFunc func(b *block, fields []fieldData, sel []int32) error

// eachRow adapts a function of one row to a blockFunc.
func eachRow(fn func(b *block, fields []fieldData, i int) error) blockFunc {
	return func(b *block, fields []fieldData, sel []int32) error {
		for _, i := range sel {
			if err := fn(b, fields, int(i)); err != nil {
				return err
			}
		}
		return nil
	}
}

func (p *plan) visitBlock(ctx context.Context, b *block, fn blockFunc) error {
	if err := ctx.Err(); err != nil {
		return limitf("the query ran out of time; narrow it with since or where")
	}
	p.scratch.reset()
	fields := make([]fieldData, len(p.fields))
	var cols int64
	defer func() { p.mem.release(cols) }() // the block's columns go with it
	for i, path := range p.fields {
		fd, err := b.load(path, p.presence[i], p.mem, &p.scratch, &cols)
		if err != nil {
			return err
		}
		fields[i] = fd
	}
	p.stats.Scanned += int64(b.rows)
	sel := slices.Grow(p.scratch.sel[:0], b.rows)
	defer func() { p.scratch.sel = sel[:0] }()
	if b.allIn {
		sel = sel[:b.rows]
		for i := range sel {
			sel[i] = int32(i)
		}
	} else {
		// Without branches: t is in [from, to) if t-from, wrapping
		// around, is below to-from.
		sel = sel[:b.rows]
		n := 0
		from, width := uint64(p.from), uint64(p.to)-uint64(p.from)
		if p.to <= p.from {
			width = 0
		}
		for i, t := range b.times[:b.rows] {
			sel[n] = int32(i)
			n += int(b2i(uint64(t)-from < width))
		}
		sel = sel[:n]
	}
	if p.where != nil && len(sel) > 0 {
		sel = p.where(&blockRow{fields: fields}, sel, make([]Val, 0, 8))
	}
	p.stats.Matched += int64(len(sel))
	if len(sel) > 0 {
		if err := fn(b, fields, sel); err != nil {
			return err
		}
	}
	if p.blockDone != nil {
		return p.blockDone(b)
	}
	return nil
}

// firstOrNull is a field's value as one cell: its only value, null if
// none, or a JSON array of several.
func firstOrNull(vals []Val) Val {
	switch len(vals) {
	case 0:
		return Val{Kind: Null}
	case 1:
		return vals[0]
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(appendJSON(nil, v))
	}
	b.WriteByte(']')
	return Val{Kind: JSON, S: b.String()}
}
