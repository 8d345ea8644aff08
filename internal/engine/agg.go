package engine

import (
	"math"
	"slices"
	"strconv"

	"github.com/zeebo/xxh3"

	"stele/internal/query"
)

// aggState is one aggregate of one group.
type aggState struct {
	n      int64    // count, count(F): values seen; sum/avg: numbers seen
	sum    exactSum // sum, avg
	best   Val      // min or max
	hasAny bool     //
	vals   []Val    // pNN: every number, once one is not an integer
	ints   intDist  // pNN: every number while all are integers
	set    keySet   // distinct: the hash of every value's key
}

// aggSpec is a compiled aggregate.
type aggSpec struct {
	fn       string
	field    int   // -1 for plain count
	permille int64 // pNN: the rank in thousandths
}

func newAggSpec(a *query.Agg, field int) aggSpec {
	s := aggSpec{fn: a.Func, field: field}
	switch a.Func {
	case "p50":
		s.permille = 500
	case "p90":
		s.permille = 900
	case "p95":
		s.permille = 950
	case "p99":
		s.permille = 990
	case "p999":
		s.permille = 999
	}
	return s
}

// add folds the values of one row in; it returns the memory it took.
func (s *aggState) add(spec *aggSpec, vals []Val) int64 {
	switch spec.fn {
	case "count":
		if spec.field < 0 {
			s.n++
		} else {
			s.n += int64(len(vals))
		}
	case "sum", "avg":
		for _, v := range vals {
			switch v.Kind {
			case Int:
				s.sum.addInt(v.I)
				s.n++
			case Num:
				s.sum.addFloat(v.F)
				s.n++
			}
		}
	case "min", "max":
		for _, v := range vals {
			if v.Kind != Int && v.Kind != Num && v.Kind != Str {
				continue
			}
			if !s.hasAny {
				s.best, s.hasAny = v, true
				continue
			}
			c := order(v, s.best)
			if spec.fn == "min" && c < 0 || spec.fn == "max" && c > 0 {
				s.best = v
			}
		}
		return 0
	case "distinct":
		var grew int64
		var buf [64]byte
		for _, v := range vals {
			grew += s.addKey(distinctKey(buf[:0], v))
		}
		return grew
	default: // percentiles
		var grew int64
		for _, v := range vals {
			switch {
			case v.Kind == Int && s.vals == nil:
				grew += s.ints.add(v.I)
			case v.Kind == Int || v.Kind == Num:
				if s.vals == nil {
					s.vals = make([]Val, 0, s.ints.n+1)
					s.ints.each(func(x int64) { s.vals = append(s.vals, intVal(x)) })
					grew += int64(s.ints.n) * 48 // at most 8 bytes each before
					s.ints = intDist{}
				}
				s.vals = append(s.vals, v)
				grew += 48
			}
		}
		return grew
	}
	return 0
}

// addInt is add of one Int value, for the aggregates other than count
// and distinct.
func (s *aggState) addInt(spec *aggSpec, x int64) int64 {
	switch spec.fn {
	case "sum", "avg":
		s.sum.addInt(x)
		s.n++
	case "min", "max":
		switch {
		case !s.hasAny:
			s.best, s.hasAny = intVal(x), true
		case s.best.Kind == Int:
			if spec.fn == "min" && x < s.best.I || spec.fn == "max" && x > s.best.I {
				s.best = intVal(x)
			}
		default:
			return s.add(spec, []Val{intVal(x)})
		}
	default: // percentiles
		if s.vals != nil {
			return s.add(spec, []Val{intVal(x)})
		}
		return s.ints.add(x)
	}
	return 0
}

// distinctKey is what distinct tells values apart by: the xxh3-128 hash
// of their key (appendKey), buf its scratch; a string's is the hash of
// its bytes alone, seeded apart from the keys of other kinds, as strings
// are most of what distinct counts. Two values collide with probability
// 2^-128, the odds the store's de-duplication already takes for records;
// in exchange the sets hold 16 bytes per value whatever its length, and
// compare in one step.
func distinctKey(buf []byte, v Val) xxh3.Uint128 {
	if v.Kind == Str {
		return strKey(v.S)
	}
	return xxh3.Hash128(appendKey(buf, v))
}

// strKey is distinctKey of a string.
func strKey(s string) xxh3.Uint128 { return xxh3.HashString128Seed(s, strKeySeed) }

// strKeySeed keeps the keys of strings apart from those of other values.
const strKeySeed = 0x5354_5249_4e47 // "STRING"

// addKey adds a distinct value by its key (distinctKey), and returns the
// memory it took.
func (s *aggState) addKey(k xxh3.Uint128) int64 { return s.set.add(k) }

// merge folds o, the same aggregate over other rows, into s; it returns
// the memory s took beyond what the two held.
func (s *aggState) merge(spec *aggSpec, o *aggState) int64 {
	s.n += o.n
	s.sum.merge(&o.sum)
	if o.hasAny {
		if !s.hasAny {
			s.best, s.hasAny = o.best, true
		} else if c := order(o.best, s.best); spec.fn == "min" && c < 0 || spec.fn == "max" && c > 0 {
			s.best = o.best
		}
	}
	s.set.merge(&o.set)
	if s.vals == nil && o.vals == nil {
		return s.ints.merge(&o.ints)
	}
	var grew int64
	for _, d := range []*intDist{&s.ints, &o.ints} {
		d.each(func(x int64) {
			s.vals = append(s.vals, intVal(x))
			grew += 48
		})
		*d = intDist{}
	}
	s.vals = append(s.vals, o.vals...)
	return grew
}

// result is the aggregate's value: null where there was nothing to
// aggregate (sum, avg, min, max and percentiles of no numbers).
func (s *aggState) result(spec *aggSpec) Val {
	switch spec.fn {
	case "count":
		return intVal(s.n)
	case "sum":
		if s.n == 0 {
			return Val{Kind: Null}
		}
		if i, ok := s.sum.int(); ok {
			return intVal(i)
		}
		return floatVal(s.sum.float())
	case "avg":
		if s.n == 0 {
			return Val{Kind: Null}
		}
		return floatVal(s.sum.float() / float64(s.n))
	case "min", "max":
		if !s.hasAny {
			return Val{Kind: Null}
		}
		return s.best
	case "distinct":
		return intVal(int64(s.set.len()))
	}
	// Nearest rank: the smallest value with at least pct% of values at or
	// below it, in integers: in floats 99.9/100*1000 is just above 999.
	rank := func(n int) int { return max(int((spec.permille*int64(n)+999)/1000), 1) - 1 }
	if s.ints.n > 0 {
		return intVal(s.ints.nth(rank(s.ints.n))) // integers only: as order sorts them
	}
	if len(s.vals) == 0 {
		return Val{Kind: Null}
	}
	slices.SortFunc(s.vals, order)
	return s.vals[rank(len(s.vals))]
}

// intList is a list of integers kept in chunks, so that it grows without
// copying what it holds, and two lists merge by their chunks.
type intList struct {
	chunks [][]int64
	n      int
}

// Chunks start small, for the many groups with few values, and double up
// to maxIntChunk.
const (
	minIntChunk = 64
	maxIntChunk = 8192
)

func (l *intList) add(x int64) {
	k := len(l.chunks) - 1
	if k < 0 || len(l.chunks[k]) == cap(l.chunks[k]) {
		size := minIntChunk
		if k >= 0 {
			size = min(2*cap(l.chunks[k]), maxIntChunk)
		}
		l.chunks = append(l.chunks, make([]int64, 0, size))
		k++
	}
	l.chunks[k] = append(l.chunks[k], x)
	l.n++
}

// merge moves the chunks of o to l.
func (l *intList) merge(o *intList) {
	if o.n == 0 {
		return
	}
	// l's last chunk, perhaps not full, goes last: add fills only that.
	k := len(l.chunks)
	l.chunks = append(l.chunks, o.chunks...)
	if k > 0 {
		last := len(l.chunks) - 1
		l.chunks[k-1], l.chunks[last] = l.chunks[last], l.chunks[k-1]
	}
	l.n += o.n
	*o = intList{}
}

// flat returns the integers in one slice, which l then holds.
func (l *intList) flat() []int64 {
	if len(l.chunks) == 1 {
		return l.chunks[0]
	}
	xs := make([]int64, 0, l.n)
	for _, c := range l.chunks {
		xs = append(xs, c...)
	}
	l.chunks = [][]int64{xs}
	return xs
}

// floatVal is a computed number, printed in the shortest form that reads
// back the same.
func floatVal(f float64) Val {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return Val{Kind: Null}
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return Val{Kind: Num, S: strconv.FormatFloat(f, 'f', -1, 64), F: f}
	}
	return Val{Kind: Num, S: strconv.FormatFloat(f, 'g', -1, 64), F: f}
}

// nthInt returns the element of xs that would be at index k if xs were
// sorted, reordering xs (quickselect: linear on average). Should the
// pivots keep splitting badly, it sorts what is left instead.
func nthInt(xs []int64, k int) int64 {
	lo, hi := 0, len(xs) // k is in xs[lo:hi]
	for round := 0; hi-lo > 16; round++ {
		if round == 64 {
			break
		}
		// Median of three as the pivot, then a three-way partition:
		// [lo,lt) < pivot, [lt,gt) == pivot, [gt,hi) > pivot.
		a, b, c := xs[lo], xs[lo+(hi-lo)/2], xs[hi-1]
		pivot := max(min(a, b), min(max(a, b), c))
		lt, i, gt := lo, lo, hi
		for i < gt {
			switch x := xs[i]; {
			case x < pivot:
				xs[lt], xs[i] = xs[i], xs[lt]
				lt++
				i++
			case x > pivot:
				gt--
				xs[gt], xs[i] = xs[i], xs[gt]
			default:
				i++
			}
		}
		switch {
		case k < lt:
			hi = lt
		case k >= gt:
			lo = gt
		default:
			return pivot
		}
	}
	slices.Sort(xs[lo:hi])
	return xs[k]
}
