package main

import (
	"sync"
	"time"

	"stele/internal/event"
	"stele/internal/table"
)

// startMaintenance starts the loops that move events from memory to
// segments, merge segments and apply retention, until stop is closed.
// Merging runs on its own, so a long merge never holds up a flush.
func (s *server) startMaintenance(stop chan struct{}, wg *sync.WaitGroup) {
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.flushLoop(stop)
	}()
	go func() {
		defer wg.Done()
		s.mergeLoop(stop)
	}()
}

func (s *server) flushLoop(stop chan struct{}) {
	t := time.NewTicker(maintainEvery)
	defer t.Stop()
	lastFlush, lastRetain := time.Now(), time.Time{}
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if s.store.MemBytes() >= int64(s.cfg.memory)/2 || time.Since(lastFlush) >= flushEvery {
			s.flush()
			lastFlush = time.Now()
		}
		if time.Since(lastRetain) >= retainEvery {
			s.retain()
			lastRetain = time.Now()
		}
		if c := s.query.cache; c != nil {
			setHeapLimit(s.cfg, c.Stats().Bytes)
		}
	}
}

func (s *server) flush() {
	start := time.Now()
	f, err := s.store.Flush()
	if err != nil {
		s.event("flush_failed", func(b *event.Builder) { b.Str("error", err.Error()) })
		return
	}
	for _, seg := range f.Segments {
		s.event("segment_written", func(b *event.Builder) {
			segmentFields(b, seg)
			b.Int("duration_ms", time.Since(start).Milliseconds())
		})
	}
}

func (s *server) retain() {
	var minTime int64
	if s.cfg.maxAge > 0 {
		minTime = time.Now().Add(-s.cfg.maxAge).UnixNano()
	}
	gone, err := s.store.Table().Retain(minTime, int64(s.cfg.maxBytes))
	if err != nil {
		s.event("retention_failed", func(b *event.Builder) { b.Str("error", err.Error()) })
		return
	}
	for _, seg := range gone {
		reason := "max-bytes"
		if minTime > 0 && seg.MaxTime < minTime {
			reason = "max-age"
		}
		s.event("segment_deleted", func(b *event.Builder) {
			segmentFields(b, seg)
			b.Str("reason", reason)
		})
	}
}

func (s *server) mergeLoop(stop chan struct{}) {
	t := time.NewTicker(maintainEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		start := time.Now()
		m, ok, err := s.store.Table().Merge(time.Now())
		if err != nil {
			s.event("merge_failed", func(b *event.Builder) { b.Str("error", err.Error()) })
			continue
		}
		if !ok {
			continue
		}
		var in int64
		for _, seg := range m.Inputs {
			in += seg.Bytes
		}
		s.event("segment_merged", func(b *event.Builder) {
			segmentFields(b, m.Output)
			b.Int("inputs", int64(len(m.Inputs)))
			b.Int("input_bytes", in)
			b.Int("duration_ms", time.Since(start).Milliseconds())
		})
	}
}

func segmentFields(b *event.Builder, seg table.Info) {
	b.Str("segment", seg.String())
	b.Int("bytes", seg.Bytes)
	b.Int("events", seg.Records)
	b.Int("min_time_ns", seg.MinTime)
	b.Int("max_time_ns", seg.MaxTime)
}
