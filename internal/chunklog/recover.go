package chunklog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"stele/internal/event"
)

// recover scans the directory, repairs what a crash or damage left and
// loads the closed chunks. It returns the events that describe what it
// found, to be written once a latest chunk exists.
func (l *Log) recover() ([][]byte, error) {
	d, err := os.Open(l.opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("chunklog: %w", err)
	}
	entries, err := d.ReadDir(maxDirEntries)
	d.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("chunklog: read %s: %w", l.opts.Dir, err)
	}
	var ids []string
	sums := map[string]bool{}
	var events [][]byte
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, ".tmp"):
			_ = os.Remove(l.path(name))
		case strings.HasSuffix(name, ".sum"):
			sums[strings.TrimSuffix(name, ".sum")] = true
		case e.Type().IsRegular():
			if n, err := parseID(name); err == nil {
				ids = append(ids, name)
				l.lastID = max(l.lastID, n)
			}
		}
	}
	slices.Sort(ids)
	nowWall, nowMono := l.nowNS(), l.opts.Mono()
	for _, id := range ids {
		cc, ev, err := l.recoverChunk(id, sums[id], nowWall, nowMono)
		delete(sums, id)
		if err != nil {
			return nil, err
		}
		if ev != nil {
			events = append(events, ev)
		}
		if cc.Size == 0 {
			l.removeFiles(id)
			continue
		}
		l.closed = append(l.closed, cc)
		l.total += cc.Size
	}
	for id := range sums {
		// A .sum whose chunk is gone: a discard interrupted between the two removals.
		_ = os.Remove(l.path(id + ".sum"))
	}
	return events, l.syncDir()
}

// recoverChunk checks one chunk and repairs it if needed. It fails only when
// the file system refuses to let it read or rewrite the chunk.
func (l *Log) recoverChunk(id string, hasSum bool, nowWall int64, nowMono time.Duration) (closedChunk, []byte, error) {
	data, mtime, err := readChunk(l.path(id))
	if err != nil {
		return closedChunk{}, nil, err
	}
	var s sumFile
	sumErr := errors.New("no checksum file")
	if hasSum {
		var b []byte
		b, err = readBounded(l.path(id+".sum"), sumHeader+sumEntry*maxRegions+sumTrailer)
		if err == nil {
			s, sumErr = decodeSum(b)
		} else {
			sumErr = err
		}
	}
	var ev []byte
	if sumErr == nil {
		kept, lost, damaged := verifyRegions(data, s.regions)
		if damaged > 0 || len(kept) != len(data) {
			ev = l.recordEvent("chunk_damaged", id, func(b *event.Builder) {
				b.Int("lost_bytes", int64(len(data)-len(kept)))
				b.Int("damaged_regions", int64(damaged))
				b.Int("lost_events_estimate", lost)
			})
			data = kept
			if err := l.rewrite(id, data, s.closedWall); err != nil {
				return closedChunk{}, nil, err
			}
			s = l.sumFor(data, s.closedWall)
		}
	} else {
		reason := "unclosed"
		if hasSum {
			reason = "checksum file damaged"
		} else if id != l.newestOnDisk() {
			reason = "checksum file missing"
		}
		kept, torn, badLines, badBytes := repairLines(data)
		s = l.sumFor(kept, mtime)
		ev = l.recordEvent("chunk_recovered", id, func(b *event.Builder) {
			b.Str("reason", reason)
			b.Int("bytes", int64(len(kept)))
			b.Int("events", s.lines)
			b.Int("torn_bytes", int64(torn))
			b.Int("dropped_lines", int64(badLines))
			b.Int("dropped_bytes", int64(badBytes))
		})
		if len(kept) == 0 {
			return closedChunk{}, ev, nil
		}
		if len(kept) != len(data) {
			if err := l.rewrite(id, kept, s.closedWall); err != nil {
				return closedChunk{}, nil, err
			}
		} else if err := l.writeFileAtomic(id+".sum", s.encode()); err != nil {
			return closedChunk{}, nil, fmt.Errorf("chunklog: write checksums of %s: %w", id, err)
		}
		data = kept
	}
	age := time.Duration(max(nowWall-s.closedWall, 0))
	return closedChunk{
		Info:       Info{ID: id, Size: int64(len(data)), Lines: s.lines, Closed: true, ETag: s.etag},
		closedMono: nowMono - age,
	}, ev, nil
}

func (l *Log) newestOnDisk() string { return formatID(l.lastID) }

func (l *Log) recordEvent(name, id string, fill func(b *event.Builder)) []byte {
	b := event.Begin(nil, l.nowNS(), name)
	b.Str("id", id)
	fill(&b)
	return b.End()
}

func (l *Log) sumFor(data []byte, closedWall int64) sumFile {
	regions, etag := sumOf(data)
	return sumFile{
		size:       int64(len(data)),
		lines:      int64(bytes.Count(data, []byte{'\n'})),
		closedWall: closedWall,
		etag:       etag,
		regions:    regions,
	}
}

// rewrite replaces a chunk by data and writes its .sum. The chunk goes
// first: a crash between the two leaves a chunk whose old .sum no longer
// matches, which the next Open repairs again without losing more.
func (l *Log) rewrite(id string, data []byte, closedWall int64) error {
	if err := l.writeFileAtomic(id, data); err != nil {
		return fmt.Errorf("chunklog: rewrite chunk %s: %w", id, err)
	}
	s := l.sumFor(data, closedWall)
	if err := l.writeFileAtomic(id+".sum", s.encode()); err != nil {
		return fmt.Errorf("chunklog: write checksums of %s: %w", id, err)
	}
	return nil
}

// verifyRegions returns the bytes of data that lie in regions matching their
// checksums, the number of lines lost, and how many regions were damaged.
// Bytes beyond the last region are damage too.
func verifyRegions(data []byte, regions []region) (kept []byte, lostLines int64, damaged int) {
	kept = make([]byte, 0, len(data))
	off := 0
	for _, r := range regions {
		end := off + int(r.length)
		if end > len(data) {
			if off < len(data) {
				lostLines += int64(bytes.Count(data[off:], []byte{'\n'})) + 1
			}
			damaged++
			off = len(data)
			continue
		}
		part := data[off:end]
		if len(part) > 0 && hash64(part) == r.sum && part[len(part)-1] == '\n' {
			kept = append(kept, part...)
		} else {
			lostLines += int64(bytes.Count(part, []byte{'\n'}))
			damaged++
		}
		off = end
	}
	if off < len(data) {
		lostLines += int64(bytes.Count(data[off:], []byte{'\n'}))
		damaged++
	}
	return kept, lostLines, damaged
}

// repairLines keeps the complete lines of an unclosed chunk that are valid
// JSON. Everything after the last '\n' is the torn tail; other invalid lines
// (zeros from a power loss, flipped bytes) are dropped and counted.
func repairLines(data []byte) (kept []byte, torn, badLines, badBytes int) {
	end := bytes.LastIndexByte(data, '\n') + 1
	torn = len(data) - end
	kept = make([]byte, 0, end)
	for rest := data[:end]; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		line := rest[:i+1]
		rest = rest[i+1:]
		if json.Valid(line) && bytes.HasPrefix(bytes.TrimLeft(line, " \t\r"), []byte{'{'}) {
			kept = append(kept, line...)
		} else {
			badLines++
			badBytes += len(line)
		}
	}
	return kept, torn, badLines, badBytes
}

// readChunk reads a chunk, at most the largest size a chunk can have plus
// one byte, so a file grown by an outsider cannot exhaust memory; anything
// beyond is treated as damage by the caller.
func readChunk(path string) ([]byte, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("chunklog: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("chunklog: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxChunkOnDisk))
	if err != nil {
		return nil, 0, fmt.Errorf("chunklog: read %s: %w", path, err)
	}
	return data, st.ModTime().UnixNano(), nil
}

func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("chunklog: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, ErrSumCorrupt
	}
	return b, nil
}
