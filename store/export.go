package main

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"time"

	"stele/internal/ingest"
	"stele/internal/table"
	"stele/internal/timespec"
)

// export prints every stored event with time_ns in [since, until) as JSON
// lines with their _source: segments in time partition order, then the
// events still only in the write-ahead log, by time. It takes the
// directory's lock, so it runs on a stopped store only: a running store
// would be replaying and merging under it.
func export(dir, sinceArg, untilArg string, stdout io.Writer) error {
	now := time.Now()
	since, until := int64(0), int64(math.MaxInt64)
	var err error
	if sinceArg != "" {
		if since, err = timespec.Parse(sinceArg, now); err != nil {
			return usagef("-since: %v", err)
		}
	}
	if untilArg != "" {
		if until, err = timespec.Parse(untilArg, now); err != nil {
			return usagef("-until: %v", err)
		}
	}
	if _, err := os.Stat(dir); err != nil {
		return err
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return fmt.Errorf("%w (stop it first)", err)
	}
	defer unlock()
	st, _, err := ingest.Open(ingest.Options{Dir: dir, DedupBudget: 1, MemoryBytes: 1})
	if err != nil {
		return err
	}
	defer st.Close()
	v := st.View()
	defer v.Release()

	w := bufio.NewWriterSize(stdout, 1<<16)
	for _, seg := range v.Snap.Segments {
		if seg.MaxTime < since || seg.MinTime >= until {
			continue
		}
		err := seg.Scan(since, until, func(line []byte, _ int64) error {
			w.Write(line)
			return w.WriteByte('\n')
		})
		if err != nil {
			return err
		}
	}
	mem := slices.Clone(v.Mem)
	slices.SortStableFunc(mem, func(a, b ingest.Record) int { return cmp.Compare(a.TimeNS, b.TimeNS) })
	var buf []byte
	for _, r := range mem {
		if r.TimeNS < since || r.TimeNS >= until {
			continue
		}
		buf = append(table.AppendRecord(buf[:0], r.Source, r.Line, r.TimeNS), '\n')
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return w.Flush()
}
