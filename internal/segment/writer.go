package segment

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"stele/internal/colenc"
	"stele/internal/dremel"
	"stele/internal/durable"
)

// Writer writes one segment file. Records are buffered into blocks of
// MaxBlockRows; Close writes the footer and moves the file into place
// atomically. Nothing is visible at the path until Close succeeds.
type Writer struct {
	// BlockRows is the number of records per block, at most (and by
	// default) MaxBlockRows. Set it before the first Add.
	BlockRows int

	// Fast encodes for speed over size (colenc.Encoder.Fast): for
	// segments that a merge soon rewrites. Readers cannot tell.
	Fast bool

	path string
	tmp  *os.File
	bw   *bufio.Writer
	off  int64

	schema *dremel.Builder // union of all blocks' schemas
	blocks []blockMeta
	// The records of the block being gathered: in flat while every one
	// of them is a flat event (dremel.FlatShredder), else in pending.
	flat    dremel.FlatShredder
	pending []dremel.Value
	general bool // tests: every record takes the general path
	parser  dremel.Parser
	buf     []byte
	err     error // sticky: after a failure the writer only aborts
}

type blockMeta struct {
	rows              int
	hasTime           bool
	minT, maxT        int64
	hasPresence       bool
	presOff, presSize int64
	chunks            []chunkMeta
}

type chunkMeta struct {
	leaf       int // in the final schema; set by Close
	path       []string
	reps       []dremel.Repetition
	typ        dremel.Type
	off, size  int64
	entries    int
	enc        byte
	hasMinMax  bool
	lo, hi     int64
	bloom      bloom
	levelBytes int
	valueBytes int
}

// Create starts a segment file at path. The data goes to a temporary file
// in the same directory until Close.
func Create(path string) (*Writer, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("create segment: %w", err)
	}
	w := &Writer{path: path, tmp: tmp, bw: bufio.NewWriterSize(tmp, 1<<20), schema: dremel.NewBuilder("")}
	var h [headerSize]byte
	copy(h[:], Magic)
	binary.LittleEndian.PutUint32(h[len(Magic):], Version)
	w.write(h[:])
	return w, w.err
}

func (w *Writer) write(b []byte) {
	if w.err != nil {
		return
	}
	n, err := w.bw.Write(b)
	w.off += int64(n)
	w.err = err
}

// Add adds one record, a JSON object.
func (w *Writer) Add(record dremel.Value) error {
	if w.err != nil {
		return w.err
	}
	if record.Kind != dremel.KindObject {
		return dremel.ErrNotEvent
	}
	if !w.general && len(w.pending) == 0 && w.flat.AddValue(&record) {
		w.flushIfFull(w.flat.Rows())
		return w.err
	}
	if w.flat.Rows() > 0 {
		// The block is not flat after all: its records so far join the
		// general path.
		w.pending = w.flat.AppendValues(w.pending)
	}
	w.pending = append(w.pending, record)
	w.flushIfFull(len(w.pending))
	return w.err
}

// flushIfFull writes the block if it has n records and that is all it
// may hold.
func (w *Writer) flushIfFull(n int) {
	if n >= MaxBlockRows || (w.BlockRows > 0 && n >= w.BlockRows) {
		w.flush()
	}
}

// AddLine parses one JSON event line and adds it.
func (w *Writer) AddLine(line []byte) error {
	if len(line) > MaxLineBytes {
		return fmt.Errorf("segment: line of %d bytes is longer than %d", len(line), MaxLineBytes)
	}
	// Most lines are flat events: they go straight into columns, while
	// the block has only such lines.
	if w.err == nil && !w.general && len(w.pending) == 0 && w.flat.Add(line) {
		w.flushIfFull(w.flat.Rows())
		return w.err
	}
	v, err := w.parser.ParseEvent(string(line))
	if err != nil {
		return err
	}
	return w.Add(v)
}

// AddLines adds every line of r; blank lines are skipped. Errors name the
// line number.
func (w *Writer) AddLines(r io.Reader) error {
	br := bufio.NewReaderSize(r, 1<<16)
	for n := 1; ; n++ {
		line, err := readLine(br)
		if len(line) > 0 {
			if err := w.AddLine(line); err != nil {
				return fmt.Errorf("line %d: %w", n, err)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
	}
}

// readLine returns the next line without its newline, refusing lines
// longer than MaxLineBytes rather than buffering them.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(line)+len(frag) > MaxLineBytes+1 {
			return nil, fmt.Errorf("segment: line longer than %d bytes", MaxLineBytes)
		}
		line = append(line, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if n := len(line); n > 0 && line[n-1] == '\n' {
			line = line[:n-1]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
		}
		if err == nil && len(line) == 0 {
			continue // blank line
		}
		return line, err
	}
}

// AddColumns adds rows records given as the columns of schema s, one
// per leaf, as Shred gives them: for a merge, which so copies columns
// rather than assembling records and shredding them again. Records added
// before are written first; these make one block, so rows is at most
// MaxBlockRows.
func (w *Writer) AddColumns(s *dremel.Schema, cols []dremel.Column, rows int) error {
	w.flush()
	if w.err != nil {
		return w.err
	}
	if rows > MaxBlockRows || len(cols) != len(s.Leaves) {
		return fmt.Errorf("segment: block of %d records in %d columns for %d leaves", rows, len(cols), len(s.Leaves))
	}
	w.writeBlock(s, cols, rows)
	return w.err
}

// flush shreds and writes the pending records as one block.
func (w *Writer) flush() {
	if w.err != nil || (len(w.pending) == 0 && w.flat.Rows() == 0) {
		return
	}
	var s *dremel.Schema
	var cols []dremel.Column
	var err error
	rows := len(w.pending)
	if rows == 0 {
		rows = w.flat.Rows()
		s, cols, err = w.flat.Columns("")
		// Nothing keeps the columns once the block is written.
		defer func() { w.flat.Recycle(cols) }()
	} else {
		s, cols, err = dremel.Shred("", w.pending)
		clear(w.pending)
		w.pending = w.pending[:0]
	}
	if err != nil {
		w.err = err
		return
	}
	w.writeBlock(s, cols, rows)
}

// writeBlock writes rows records, the columns cols of schema s, as one
// block.
func (w *Writer) writeBlock(s *dremel.Schema, cols []dremel.Column, rows int) {
	b := blockMeta{rows: rows}
	shapes := w.writePresence(s, cols, b.rows)
	if w.err != nil {
		return
	}
	if shapes != nil {
		b.hasPresence = true
		b.presOff, b.presSize = shapes.off, shapes.size
	}
	for i, leaf := range s.Leaves {
		var sh *blockShapes
		if isFlat(leaf) {
			sh = shapes
		}
		cm, err := w.writeChunk(leaf, &cols[i], sh, i)
		if err != nil {
			w.err = err
			return
		}
		if err := w.schema.AddLeaf(cm.path, cm.reps, cm.typ); err != nil {
			w.err = err
			return
		}
		if cm.hasMinMax && len(cm.path) == 1 && cm.path[0] == "time_ns" && cm.reps[0] == dremel.Optional {
			b.hasTime, b.minT, b.maxT = true, cm.lo, cm.hi
		}
		b.chunks = append(b.chunks, cm)
	}
	if len(w.blocks) >= MaxBlocks {
		w.err = fmt.Errorf("segment: more than %d blocks", MaxBlocks)
		return
	}
	w.blocks = append(w.blocks, b)
}

// isFlat reports whether leaf is a top-level optional field, whose
// definition levels say only whether a record has it.
func isFlat(leaf *dremel.Field) bool { return leaf.MaxR() == 0 && leaf.MaxD() == 1 }

// blockShapes is what the writer keeps of a block's presence chunk.
type blockShapes struct {
	off, size int64
	shapes    []uint32    // of each record
	n         int         // distinct shapes
	table     []byte      // their bitmaps
	stride    int         // bytes of a bitmap
	bit       map[int]int // leaf → its bit in the bitmaps
}

// groups returns the shape of each record that has a value in col, the
// column of leaf, or nil if the records of one shape have all its values:
// then grouping its values by shape gains nothing.
func (sh *blockShapes) groups(leaf int, col *dremel.Column) []uint16 {
	bit := sh.bit[leaf]
	with := 0
	for s := range sh.n {
		with += int(sh.table[s*sh.stride+bit/8] >> (bit % 8) & 1)
	}
	if with < 2 {
		return nil
	}
	return valueShapes(col.D, sh.shapes)
}

// writePresence writes the block's presence chunk, which replaces the
// definition levels of its flat columns: records of the same shape (set of
// flat columns present) share one bitmap, and each record stores only its
// shape's number. Events of one kind have one shape, so this costs a few
// bits per record instead of one bit per record and column. It returns the
// chunk's place and the shapes, or nil when shapes do not pay:
//
//	| uvarint nflat | column id u32 × nflat | uvarint nshapes | bitmap × nshapes | indexes(shape) | xxh3 u64 |
//
// Bitmaps have ceil(nflat/8) bytes; bit i (of byte i/8, from the least
// significant) is set when the i-th listed column is present.
func (w *Writer) writePresence(s *dremel.Schema, cols []dremel.Column, rows int) *blockShapes {
	var flat []int
	ids := map[uint32]bool{}
	for i, leaf := range s.Leaves {
		if isFlat(leaf) {
			id := columnID(leaf.Path(), leaf.Repetitions(), leaf.Type)
			if ids[id] {
				return nil // two columns share an id; keep their levels
			}
			ids[id] = true
			flat = append(flat, i)
		}
	}
	if len(flat) < 2 {
		return nil
	}
	stride := (len(flat) + 7) / 8
	var table []byte
	shapes := make([]uint32, rows)
	n := 0
	if len(flat) <= 64 {
		n, table = shapesNarrow(cols, flat, shapes)
	} else {
		n, table = shapesWide(cols, flat, shapes, stride)
	}
	if n < 0 {
		return nil
	}
	b := binary.AppendUvarint(w.buf[:0], uint64(len(flat)))
	for _, i := range flat {
		leaf := s.Leaves[i]
		b = binary.LittleEndian.AppendUint32(b, columnID(leaf.Path(), leaf.Repetitions(), leaf.Type))
	}
	b = binary.AppendUvarint(b, uint64(n))
	b = append(b, table...)
	b = colenc.AppendIndexes(b, shapes, n)
	b = appendSum(b, 0)
	w.buf = b
	sh := &blockShapes{off: w.off, size: int64(len(b)), shapes: shapes, n: n, table: table, stride: stride, bit: make(map[int]int, len(flat))}
	for k, i := range flat {
		sh.bit[i] = k
	}
	w.write(b)
	return sh
}

// shapesNarrow numbers the shapes of the records, for at most 64 flat
// columns: each record's bitmap is a uint64, bit k for flat[k]. It sets
// shapes and returns the number of shapes and their bitmaps, or -1 if
// there are more than maxShapes.
func shapesNarrow(cols []dremel.Column, flat []int, shapes []uint32) (int, []byte) {
	keys := make([]uint64, len(shapes))
	for k, i := range flat {
		for row, d := range cols[i].D {
			keys[row] |= uint64(d&1) << k
		}
	}
	stride := (len(flat) + 7) / 8
	shapeOf := map[uint64]uint32{}
	var table []byte
	last, lastID := uint64(0), uint32(0)
	for row, key := range keys {
		if row > 0 && key == last {
			shapes[row] = lastID
			continue
		}
		id, ok := shapeOf[key]
		if !ok {
			if len(shapeOf) == maxShapes {
				return -1, nil
			}
			id = uint32(len(shapeOf))
			shapeOf[key] = id
			table = binary.LittleEndian.AppendUint64(table, key)[:len(table)+stride]
		}
		shapes[row] = id
		last, lastID = key, id
	}
	return len(shapeOf), table
}

// shapesWide is shapesNarrow for any number of flat columns.
func shapesWide(cols []dremel.Column, flat []int, shapes []uint32, stride int) (int, []byte) {
	bits := make([]byte, len(shapes)*stride)
	for k, i := range flat {
		for row, d := range cols[i].D {
			if d == 1 {
				bits[row*stride+k/8] |= 1 << (k % 8)
			}
		}
	}
	shapeOf := map[string]uint32{}
	var table []byte
	for row := range shapes {
		key := bits[row*stride : (row+1)*stride]
		id, ok := shapeOf[string(key)]
		if !ok {
			if len(shapeOf) == maxShapes {
				return -1, nil
			}
			id = uint32(len(shapeOf))
			shapeOf[string(key)] = id
			table = append(table, key...)
		}
		shapes[row] = id
	}
	return len(shapeOf), table
}

// writeChunk encodes and writes the chunk of column i, whose field is
// leaf:
//
//	| column id u32 | flags u8 | uvarint entries | uvarint len(R) | uvarint len(D) | uvarint len(V) | R | D | V | xxh3 u64 |
//
// flags bit 0: the definition levels are not here but in the block's
// presence chunk (len(D) is 0); sh is then that chunk's shapes, else nil.
// A string column with few distinct values has them grouped by shape
// where that is smaller (colenc.StrGroups).
func (w *Writer) writeChunk(leaf *dremel.Field, col *dremel.Column, sh *blockShapes, i int) (chunkMeta, error) {
	cm := chunkMeta{path: leaf.Path(), reps: leaf.Repetitions(), typ: leaf.Type, off: w.off, entries: col.Len()}
	r := colenc.AppendLevels(nil, col.R, leaf.MaxR())
	var d []byte
	var flags byte
	if sh != nil {
		flags |= 1
	} else {
		d = colenc.AppendLevels(nil, col.D, leaf.MaxD())
	}
	var v []byte
	switch leaf.Type {
	case dremel.String, dremel.Number, dremel.JSON:
		if len(col.Strs) > 0 {
			dict, idx := colenc.StringDict(col.Strs, colenc.MaxDict)
			v = colenc.Encoder{Fast: w.Fast}.AppendStringsDict(nil, col.Strs, dict, idx)
			if sh != nil && dict != nil && len(dict) <= maxGroupedDict {
				if group := sh.groups(i, col); group != nil {
					if g := (colenc.Encoder{Fast: w.Fast}).AppendStringsGrouped(nil, col.Strs, dict, idx, group, sh.n); len(g) < len(v) {
						v = g
					}
				}
			}
			if leaf.Type == dremel.String && dict != nil && len(dict) <= MaxBloomValues {
				cm.bloom = newBloom(len(dict))
				for _, s := range dict {
					cm.bloom.add(s)
				}
			}
		}
	case dremel.Int:
		if len(col.Ints) > 0 {
			v = colenc.Encoder{Fast: w.Fast}.AppendInts(nil, col.Ints)
			cm.hasMinMax, cm.lo, cm.hi = true, col.Ints[0], col.Ints[0]
			for _, x := range col.Ints {
				cm.lo, cm.hi = min(cm.lo, x), max(cm.hi, x)
			}
		}
	case dremel.Bool:
		if len(col.Bools) > 0 {
			v = colenc.AppendBools(nil, col.Bools)
		}
	}
	if len(v) > 0 {
		cm.enc = v[0]
	}
	b := binary.LittleEndian.AppendUint32(w.buf[:0], columnID(cm.path, cm.reps, cm.typ))
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(col.Len()))
	b = binary.AppendUvarint(b, uint64(len(r)))
	b = binary.AppendUvarint(b, uint64(len(d)))
	b = binary.AppendUvarint(b, uint64(len(v)))
	b = append(append(append(b, r...), d...), v...)
	b = appendSum(b, 0)
	w.buf = b
	cm.size = int64(len(b))
	cm.levelBytes, cm.valueBytes = len(r)+len(d), len(v)
	if cm.size > MaxChunkBytes {
		return cm, fmt.Errorf("segment: column chunk of %d bytes", cm.size)
	}
	w.write(b)
	return cm, w.err
}

// maxGroupedDict is the most distinct values of a string column whose
// values are tried grouped by shape: names of kinds, levels and hosts,
// which a record's shape often tells. Values more varied than that rarely
// follow the shape, and trying costs another encoding of the column.
const maxGroupedDict = 256

// columnID identifies a column inside its chunk, so that a footer pointing
// at the wrong chunk is caught even when both checksums are good.
func columnID(path []string, reps []dremel.Repetition, typ dremel.Type) uint32 {
	var b []byte
	for i, n := range path {
		b = binary.AppendUvarint(b, uint64(len(n)))
		b = append(b, n...)
		b = append(b, byte(reps[i]))
	}
	return uint32(sum(append(b, byte(typ))))
}

// Close writes the last block and the footer, flushes and syncs the file,
// and renames it into place, then syncs the directory.
func (w *Writer) Close() error {
	w.flush()
	if w.err == nil {
		w.writeFooter()
	}
	if w.err == nil {
		w.err = w.bw.Flush()
	}
	if w.err == nil {
		w.err = w.tmp.Sync()
	}
	if err := w.tmp.Close(); w.err == nil {
		w.err = err
	}
	if w.err == nil {
		w.err = os.Rename(w.tmp.Name(), w.path)
	}
	if w.err == nil {
		w.err = durable.SyncDir(filepath.Dir(w.path))
	}
	if w.err != nil {
		os.Remove(w.tmp.Name())
		return fmt.Errorf("write segment %s: %w", w.path, w.err)
	}
	w.err = errors.New("segment: writer is closed")
	return nil
}

// Abort discards the file.
func (w *Writer) Abort() {
	w.tmp.Close()
	os.Remove(w.tmp.Name())
	w.err = errors.New("segment: writer is closed")
}

// writeFooter writes the footer and trailer:
//
//	footer    := | uvarint nfields | field… | uvarint nblocks | block… | xxh3 u64 |
//	field     := | uvarint len | name | repetition:1 | type:1 | uvarint nchildren |  (preorder, root first)
//	block     := | uvarint rows | flags:1 | [varint min_time varint max_time] | [uvarint offset uvarint size] |
//	             uvarint nchunks | chunk-ref… |
//	chunk-ref := | uvarint leaf | uvarint offset | uvarint size | uvarint entries | encoding:1 | flags:1 |
//	             [varint min varint max] | [uvarint len(bloom) bloom] |
//	trailer   := | footer size u32 | magic |
func (w *Writer) writeFooter() {
	s, err := w.schema.Schema()
	if err != nil {
		w.err = err
		return
	}
	var b []byte
	var fields []*dremel.Field
	var walk func(f *dremel.Field)
	walk = func(f *dremel.Field) {
		fields = append(fields, f)
		for _, c := range f.Children {
			walk(c)
		}
	}
	walk(s.Root)
	b = binary.AppendUvarint(b, uint64(len(fields)))
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f.Name)))
		b = append(b, f.Name...)
		b = append(b, byte(f.Repetition), byte(f.Type))
		b = binary.AppendUvarint(b, uint64(len(f.Children)))
	}
	b = binary.AppendUvarint(b, uint64(len(w.blocks)))
	for _, blk := range w.blocks {
		b = binary.AppendUvarint(b, uint64(blk.rows))
		var flags byte
		if blk.hasTime {
			flags |= 1
		}
		if blk.hasPresence {
			flags |= 2
		}
		b = append(b, flags)
		if blk.hasTime {
			b = binary.AppendVarint(b, blk.minT)
			b = binary.AppendVarint(b, blk.maxT)
		}
		if blk.hasPresence {
			b = binary.AppendUvarint(b, uint64(blk.presOff))
			b = binary.AppendUvarint(b, uint64(blk.presSize))
		}
		for i := range blk.chunks {
			cm := &blk.chunks[i]
			cm.leaf = s.Leaf(cm.path, cm.reps, cm.typ)
			if cm.leaf < 0 {
				panic("segment: internal error: chunk of a column missing from the schema")
			}
		}
		sortChunks(blk.chunks)
		b = binary.AppendUvarint(b, uint64(len(blk.chunks)))
		for _, cm := range blk.chunks {
			b = binary.AppendUvarint(b, uint64(cm.leaf))
			b = binary.AppendUvarint(b, uint64(cm.off))
			b = binary.AppendUvarint(b, uint64(cm.size))
			b = binary.AppendUvarint(b, uint64(cm.entries))
			b = append(b, cm.enc)
			var flags byte
			if cm.hasMinMax {
				flags |= 1
			}
			if cm.bloom != nil {
				flags |= 2
			}
			b = append(b, flags)
			if cm.hasMinMax {
				b = binary.AppendVarint(b, cm.lo)
				b = binary.AppendVarint(b, cm.hi)
			}
			if cm.bloom != nil {
				b = binary.AppendUvarint(b, uint64(len(cm.bloom)))
				b = append(b, cm.bloom...)
			}
		}
	}
	b = appendSum(b, 0)
	if len(b) > MaxFooterBytes {
		w.err = fmt.Errorf("segment: footer of %d bytes", len(b))
		return
	}
	w.write(b)
	t := binary.LittleEndian.AppendUint32(nil, uint32(len(b)))
	w.write(append(t, Magic...))
}

// sortChunks orders a block's chunks by leaf.
func sortChunks(cs []chunkMeta) {
	slices.SortFunc(cs, func(a, b chunkMeta) int { return cmp.Compare(a.leaf, b.leaf) })
}
