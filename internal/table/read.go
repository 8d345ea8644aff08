package table

import (
	"fmt"
	"os"
	"strconv"

	"stele/internal/dremel"
	"stele/internal/segment"
)

func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("table: %w", err)
	}
	return fi.Size(), nil
}

// Scan calls fn with each record of s whose time_ns is in [from, to),
// rendered as a JSON line (without newline; valid only during the call),
// in the segment's order. Blocks outside the range are skipped by their
// zone maps.
func (s *Segment) Scan(from, to int64, fn func(line []byte, timeNS int64) error) error {
	f, err := segment.OpenFile(s.path)
	if err != nil {
		return fmt.Errorf("table: segment %s: %w", s.Info, err)
	}
	defer f.Close()
	var buf []byte
	for b := range f.Blocks {
		blk := &f.Blocks[b]
		if blk.HasTime && (blk.MaxTime < from || blk.MinTime >= to) {
			continue
		}
		err := f.Assemble(b, nil, func(v dremel.Value) error {
			t := TimeOf(v)
			if t < from || t >= to {
				return nil
			}
			buf = dremel.AppendJSON(buf[:0], v)
			return fn(buf, t)
		})
		if err != nil {
			return fmt.Errorf("table: segment %s: %w", s.Info, err)
		}
	}
	return nil
}

// TimeOf returns the top-level integer time_ns of a record, or -1. Every
// record the table writes has one.
func TimeOf(v dremel.Value) int64 {
	for i := len(v.Members) - 1; i >= 0; i-- {
		m := &v.Members[i]
		if m.Key == "time_ns" {
			if m.Value.Kind != dremel.KindNumber {
				return -1
			}
			n, err := strconv.ParseInt(m.Value.Str, 10, 64)
			if err != nil || n < 0 {
				return -1
			}
			return n
		}
	}
	return -1
}
