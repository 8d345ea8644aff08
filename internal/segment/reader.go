package segment

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sync"

	"stele/internal/colenc"
	"stele/internal/dremel"
)

// Reader reads a segment file. Open loads and checks the footer; column
// chunks are read on demand with ReadAt, each checked by its own checksum.
// A Reader is safe for concurrent use if its io.ReaderAt is.
type Reader struct {
	ra     io.ReaderAt
	Schema *dremel.Schema
	Blocks []Block

	// cache, if set (Cache.OpenFile), keeps presence chunks and coded
	// columns of the file id.
	cache *Cache
	id    fileID

	// mu guards the presence chunks decoded last, by block, when there is
	// no cache: columns of one block are usually read together, and they
	// share it.
	mu       sync.Mutex
	pres     map[int]*presence
	presFIFO []int
}

// Block describes one block: its records and the zone maps that let a
// query skip it.
type Block struct {
	Rows    int
	HasTime bool  // the block has a top-level integer time_ns
	MinTime int64 // min and max of time_ns, if HasTime
	MaxTime int64
	Chunks  []Chunk // in schema order; columns without any entry in the block have none

	hasPresence       bool // flat columns' definition levels are in a presence chunk
	presOff, presSize int64
}

// Chunk describes one column chunk of a block.
type Chunk struct {
	Leaf      int // index into Schema.Leaves
	Offset    int64
	Size      int64
	Entries   int  // levels in the chunk
	Encoding  byte // tag of the value stream (colenc), 0 if there are no values
	HasMinMax bool // integer columns: min and max of the values
	Min, Max  int64
	bloom     bloom // string columns with few distinct values
}

// Chunk returns the chunk of leaf in block b, or nil.
func (b *Block) Chunk(leaf int) *Chunk {
	lo, hi := 0, len(b.Chunks)
	for lo < hi {
		m := (lo + hi) / 2
		switch c := &b.Chunks[m]; {
		case c.Leaf == leaf:
			return c
		case c.Leaf < leaf:
			lo = m + 1
		default:
			hi = m
		}
	}
	return nil
}

// MayContain reports whether the string column leaf may hold s in block b.
// False is certain: no value of the column in the block equals s. True
// means the chunk must be read to know.
func (b *Block) MayContain(leaf int, s string) bool {
	c := b.Chunk(leaf)
	if c == nil {
		return false
	}
	if c.bloom == nil {
		return true
	}
	return c.bloom.mayContain(s)
}

// HasBloom reports whether the chunk carries a bloom filter.
func (c *Chunk) HasBloom() bool { return c.bloom != nil }

// File is a Reader over an open file.
type File struct {
	*Reader
	f *os.File
}

// OpenFile opens the segment file at path.
func OpenFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	r, err := Open(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open segment %s: %w", path, err)
	}
	return &File{Reader: r, f: f}, nil
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// Open reads and checks the header, trailer and footer of a segment of
// size bytes.
func Open(ra io.ReaderAt, size int64) (*Reader, error) {
	r, _, err := open(ra, size)
	return r, err
}

// open is Open, also returning the footer's checksum.
func open(ra io.ReaderAt, size int64) (*Reader, uint64, error) {
	if size < int64(headerSize+trailerSize+checksumSize) {
		return nil, 0, corruptf("%d bytes is too short for a segment", size)
	}
	var h [headerSize]byte
	if _, err := ra.ReadAt(h[:], 0); err != nil {
		return nil, 0, fmt.Errorf("read header: %w", err)
	}
	if string(h[:len(Magic)]) != Magic {
		return nil, 0, corruptf("bad magic")
	}
	if v := binary.LittleEndian.Uint32(h[len(Magic):]); v != Version {
		return nil, 0, &VersionError{Version: v}
	}
	var t [trailerSize]byte
	if _, err := ra.ReadAt(t[:], size-trailerSize); err != nil {
		return nil, 0, fmt.Errorf("read trailer: %w", err)
	}
	if string(t[4:]) != Magic {
		return nil, 0, corruptf("bad trailing magic")
	}
	flen := int64(binary.LittleEndian.Uint32(t[:4]))
	footerAt := size - trailerSize - flen
	if flen < checksumSize || flen > MaxFooterBytes || footerAt < headerSize {
		return nil, 0, corruptf("footer of %d bytes in a file of %d", flen, size)
	}
	raw := make([]byte, flen) // bounded by the file's size and MaxFooterBytes
	if _, err := ra.ReadAt(raw, footerAt); err != nil {
		return nil, 0, fmt.Errorf("read footer: %w", err)
	}
	body, err := verify(raw)
	if err != nil {
		return nil, 0, fmt.Errorf("footer: %w", err)
	}
	r := &Reader{ra: ra, pres: map[int]*presence{}}
	if err := r.decodeFooter(body, footerAt); err != nil {
		return nil, 0, err
	}
	return r, binary.LittleEndian.Uint64(raw[len(body):]), nil
}

// decodeFooter fills r from the footer body; chunks must lie between the
// header and the footer.
func (r *Reader) decodeFooter(body []byte, footerAt int64) error {
	d := &decoder{b: body}
	nfields := d.count(min(dremel.MaxFields, len(body)/4))
	if d.err != nil {
		return d.err
	}
	left := nfields
	root, err := decodeField(d, &left, 0)
	if err != nil {
		return err
	}
	if left != 0 {
		return corruptf("%d fields listed, %d in the tree", nfields, nfields-left)
	}
	s, err := dremel.NewSchema(root)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	nblocks := d.count(min(MaxBlocks, len(d.b)/3))
	var blocks []Block
	for range nblocks {
		if d.err != nil {
			break
		}
		b := Block{Rows: d.count(MaxBlockRows)}
		if d.err == nil && b.Rows == 0 {
			return corruptf("empty block")
		}
		flags := d.byte()
		if flags&^3 != 0 {
			return corruptf("bad block flags")
		}
		if flags&1 != 0 {
			b.HasTime, b.MinTime, b.MaxTime = true, d.varint(), d.varint()
		}
		if flags&2 != 0 {
			b.hasPresence = true
			b.presOff = int64(d.count(int(footerAt)))
			b.presSize = int64(d.count(MaxChunkBytes))
			if d.err == nil && (b.presOff < headerSize || b.presOff+b.presSize > footerAt) {
				return corruptf("presence chunk at %d of %d bytes", b.presOff, b.presSize)
			}
		}
		nchunks := d.count(min(len(s.Leaves), len(d.b)/6))
		for range nchunks {
			c := Chunk{
				Leaf:    d.count(len(s.Leaves) - 1),
				Offset:  int64(d.count(int(footerAt))),
				Size:    int64(d.count(MaxChunkBytes)),
				Entries: d.count(colenc.MaxValues),
			}
			c.Encoding = d.byte()
			flags := d.byte()
			if d.err != nil {
				return d.err
			}
			if flags&^3 != 0 {
				return corruptf("bad chunk flags")
			}
			if flags&1 != 0 {
				c.HasMinMax, c.Min, c.Max = true, d.varint(), d.varint()
			}
			if flags&2 != 0 {
				n := d.count(len(d.b))
				c.bloom = bloom(d.bytes(n))
				if d.err == nil && (n < 8 || n&(n-1) != 0) {
					return corruptf("bloom filter of %d bytes", n)
				}
			}
			if c.Offset < headerSize || c.Offset+c.Size > footerAt || c.Entries < b.Rows {
				return corruptf("chunk at %d of %d bytes, %d entries", c.Offset, c.Size, c.Entries)
			}
			if k := len(b.Chunks); k > 0 && b.Chunks[k-1].Leaf >= c.Leaf {
				return corruptf("chunks out of order")
			}
			b.Chunks = append(b.Chunks, c)
		}
		blocks = append(blocks, b)
	}
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return corruptf("%d bytes after the footer", len(d.b))
	}
	r.Schema, r.Blocks = s, blocks
	return nil
}

// decodeField decodes a field and its children in preorder. left counts
// the fields still allowed; depth bounds the recursion.
func decodeField(d *decoder, left *int, depth int) (*dremel.Field, error) {
	if *left <= 0 || depth > dremel.MaxFieldDepth {
		return nil, corruptf("schema tree does not match its field count")
	}
	*left--
	f := &dremel.Field{}
	f.Name = string(d.bytes(d.count(len(d.b))))
	f.Repetition = dremel.Repetition(d.byte())
	f.Type = dremel.Type(d.byte())
	n := d.count(*left)
	if d.err != nil {
		return nil, d.err
	}
	for range n {
		c, err := decodeField(d, left, depth+1)
		if err != nil {
			return nil, err
		}
		f.Children = append(f.Children, c)
	}
	return f, nil
}

// ReadColumn reads and decodes the column of leaf in block b. The chunk is
// checked against its checksum before anything in it is decoded.
func (r *Reader) ReadColumn(b, leaf int) (*dremel.Column, error) {
	return r.readColumn(b, leaf, false)
}

// ReadColumnCoded is ReadColumn, except that the values of a string column
// stored with a dictionary come as the dictionary and a code per value
// (Column.Dict and Column.Codes, Strs nil): a query can test each distinct
// value once, and group by codes. Values of a String column stored
// otherwise come so too, in a dictionary made on reading, unless most of
// them are distinct.
func (r *Reader) ReadColumnCoded(b, leaf int) (*dremel.Column, error) {
	return r.readColumn(b, leaf, true)
}

func (r *Reader) readColumn(b, leaf int, coded bool) (*dremel.Column, error) {
	if b < 0 || b >= len(r.Blocks) || leaf < 0 || leaf >= len(r.Schema.Leaves) {
		return nil, fmt.Errorf("segment: no block %d or leaf %d", b, leaf)
	}
	blk := &r.Blocks[b]
	c := blk.Chunk(leaf)
	if c == nil {
		return nil, ErrNoColumn
	}
	if r.cache != nil && !coded {
		// The cache keeps the coded form only; the strings of a coded
		// column share its dictionary's memory.
		col, err := r.readColumn(b, leaf, true)
		if err != nil || col.Codes == nil {
			return col, err
		}
		strs := make([]string, len(col.Codes))
		for i, k := range col.Codes {
			strs[i] = col.Dict[k]
		}
		return &dremel.Column{R: col.R, D: col.D, Strs: strs}, nil
	}
	if col := r.cachedColumn(b, leaf, coded); col != nil {
		return col, nil
	}
	body, err := r.readChunk(c.Offset, c.Size)
	if err != nil {
		return nil, fmt.Errorf("block %d column %d: %w", b, leaf, err)
	}
	pres := func() (*presence, error) { return r.presence(b) }
	col, err := decodeChunk(body, r.Schema.Leaves[leaf], c.Entries, blk.Rows, pres, coded)
	if err != nil {
		return nil, fmt.Errorf("block %d column %d: %w", b, leaf, err)
	}
	if r.cache != nil && coded {
		col = r.cache.add(r.columnKey(b, leaf), col, columnCost(col)).(*dremel.Column)
	}
	return col, nil
}

// cachedColumn returns the coded column of leaf in block b from the
// cache, or nil.
func (r *Reader) cachedColumn(b, leaf int, coded bool) *dremel.Column {
	if r.cache == nil || !coded {
		return nil
	}
	col, _ := r.cache.get(r.columnKey(b, leaf)).(*dremel.Column)
	return col
}

func (r *Reader) columnKey(b, leaf int) cacheKey {
	return cacheKey{file: r.id, kind: kindCoded, block: int32(b), leaf: int32(leaf)}
}

// presence returns the decoded presence chunk of block b, from the cache
// or the last few the Reader decoded.
func (r *Reader) presence(b int) (*presence, error) {
	blk := &r.Blocks[b]
	if !blk.hasPresence {
		return nil, corruptf("no presence chunk")
	}
	k := cacheKey{file: r.id, kind: kindPresence, block: int32(b)}
	if r.cache != nil {
		if p, ok := r.cache.get(k).(*presence); ok {
			return p, nil
		}
	} else {
		r.mu.Lock()
		p := r.pres[b]
		r.mu.Unlock()
		if p != nil {
			return p, nil
		}
	}
	body, err := r.readChunk(blk.presOff, blk.presSize)
	if err != nil {
		return nil, err
	}
	p, err := decodePresence(body, blk.Rows)
	if err != nil {
		return nil, err
	}
	if r.cache != nil {
		return r.cache.add(k, p, presenceCost(p)).(*presence), nil
	}
	r.mu.Lock()
	if _, ok := r.pres[b]; !ok {
		if len(r.presFIFO) == presenceCache {
			delete(r.pres, r.presFIFO[0])
			r.presFIFO = r.presFIFO[1:]
		}
		r.pres[b] = p
		r.presFIFO = append(r.presFIFO, b)
	}
	r.mu.Unlock()
	return p, nil
}

// readChunk reads size bytes at off and checks their checksum. Open has
// checked that they lie within the file and below MaxChunkBytes.
func (r *Reader) readChunk(off, size int64) ([]byte, error) {
	raw := make([]byte, size)
	if _, err := r.ra.ReadAt(raw, off); err != nil {
		return nil, fmt.Errorf("read chunk: %w", err)
	}
	return verify(raw)
}

// presence is a decoded presence chunk (see writePresence).
type presence struct {
	pos    map[uint32]int // column id → bit
	stride int
	table  []byte
	shapes []uint16 // each record's shape: fewer than maxShapes
}

func decodePresence(body []byte, rows int) (*presence, error) {
	d := &decoder{b: body}
	nflat := d.count(min(dremel.MaxLeaves, len(body)/4))
	p := &presence{pos: make(map[uint32]int, nflat), stride: (nflat + 7) / 8}
	for i := range nflat {
		b := d.bytes(4)
		if d.err != nil {
			return nil, d.err
		}
		id := binary.LittleEndian.Uint32(b)
		if _, dup := p.pos[id]; dup {
			return nil, corruptf("column listed twice in presence chunk")
		}
		p.pos[id] = i
	}
	nshapes := d.count(maxShapes)
	p.table = d.bytes(nshapes * p.stride)
	if d.err != nil {
		return nil, d.err
	}
	if nshapes == 0 {
		return nil, corruptf("presence chunk without shapes")
	}
	shapes, err := colenc.DecodeIndexes(d.b, nshapes, rows)
	if err != nil {
		return nil, err
	}
	p.shapes = make([]uint16, len(shapes))
	for i, s := range shapes {
		p.shapes[i] = uint16(s)
	}
	return p, nil
}

func decodeChunk(body []byte, leaf *dremel.Field, entries, rows int, pres func() (*presence, error), coded bool) (*dremel.Column, error) {
	id := columnID(leaf.Path(), leaf.Repetitions(), leaf.Type)
	if len(body) < 5 || binary.LittleEndian.Uint32(body) != id {
		return nil, corruptf("chunk of another column")
	}
	flags := body[4]
	if flags&^1 != 0 {
		return nil, corruptf("bad chunk flags")
	}
	d := &decoder{b: body[5:]}
	if n := d.count(colenc.MaxValues); d.err == nil && n != entries {
		return nil, corruptf("chunk has %d entries, footer says %d", n, entries)
	}
	nr, nd, nv := d.count(len(d.b)), d.count(len(d.b)), d.count(len(d.b))
	rb, db, vb := d.bytes(nr), d.bytes(nd), d.bytes(nv)
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, corruptf("%d trailing bytes in chunk", len(d.b))
	}
	col := &dremel.Column{}
	var err error
	if leaf.MaxR() == 0 && len(rb) == 0 && entries <= len(noRepetitions) {
		col.R = noRepetitions[:entries:entries] // read only, as every column
	} else if col.R, err = colenc.DecodeLevels(rb, entries, leaf.MaxR()); err != nil {
		return nil, err
	}
	var p *presence // for the levels of a flat column, and the shapes of its values
	if flags&1 == 0 {
		if col.D, err = colenc.DecodeLevels(db, entries, leaf.MaxD()); err != nil {
			return nil, err
		}
	} else {
		// Definition levels from the presence chunk: a flat column has one
		// entry per record.
		if !isFlat(leaf) || len(db) != 0 || entries != rows {
			return nil, corruptf("derived levels for a column that cannot have them")
		}
		if p, err = pres(); err != nil {
			return nil, err
		}
		bit, ok := p.pos[id]
		if !ok {
			return nil, corruptf("column missing from presence chunk")
		}
		nshapes := len(p.table) / max(p.stride, 1)
		var has [maxShapes]uint8
		for s := range nshapes {
			has[s] = p.table[s*p.stride+bit/8] >> (bit % 8) & 1
		}
		col.D = make([]uint8, entries)
		for i, s := range p.shapes {
			col.D[i] = has[s]
		}
	}
	starts, values := entries, 0
	if leaf.MaxR() > 0 {
		starts = 0
		for _, r := range col.R {
			if r == 0 {
				starts++
			}
		}
	}
	maxD := uint8(leaf.MaxD())
	for _, d := range col.D {
		if d == maxD {
			values++
		}
	}
	if starts != rows || (entries > 0 && col.R[0] != 0) {
		return nil, corruptf("chunk holds %d records, block has %d", starts, rows)
	}
	if leaf.Type == dremel.Null || values == 0 {
		if len(vb) != 0 {
			return nil, corruptf("values where none can be")
		}
		return col, nil
	}
	switch leaf.Type {
	case dremel.Int:
		col.Ints, err = colenc.DecodeInts(make([]int64, 0, values), vb, values)
	case dremel.Bool:
		col.Bools, err = colenc.DecodeBools(make([]bool, 0, values), vb, values)
	case dremel.String, dremel.Number, dremel.JSON:
		var s *colenc.Strings
		if len(vb) > 0 && vb[0] == colenc.StrGroups && p != nil {
			s, err = decodeByShape(vb, col.D, p)
		} else {
			s, err = colenc.DecodeStrings(vb, values)
		}
		if err == nil {
			switch {
			case coded && s.Index != nil:
				col.Dict, col.Codes = dictOf(s), s.Index
			case coded && leaf.Type == dremel.String:
				var ok bool
				if col.Dict, col.Codes, ok = makeDict(s); !ok {
					col.Strs = stringsOf(s)
				}
			default:
				col.Strs = stringsOf(s)
			}
		}
	}
	return col, err
}

// decodeByShape decodes the values of a flat column grouped by the shapes
// of their records, d being the column's definition levels from p.
func decodeByShape(vb []byte, d []uint8, p *presence) (*colenc.Strings, error) {
	return colenc.DecodeStringsGrouped(vb, valueShapes(d, p.shapes), len(p.table)/max(p.stride, 1))
}

// valueShapes returns the shape of each record with a value in a flat
// column whose definition levels are d: the groups of its values.
func valueShapes[S uint16 | uint32](d []uint8, shapes []S) []uint16 {
	group := make([]uint16, 0, len(d))
	for row, x := range d {
		if x == 1 {
			group = append(group, uint16(shapes[row]))
		}
	}
	return group
}

// stringsOf converts decoded strings with one allocation for all the bytes.
func stringsOf(s *colenc.Strings) []string {
	if s.Index != nil {
		dict := dictOf(s)
		out := make([]string, len(s.Index))
		for i, k := range s.Index {
			out[i] = dict[k]
		}
		return out
	}
	all := string(s.Data)
	out := make([]string, s.Len())
	for i := range out {
		out[i] = all[s.Offs[i]:s.Offs[i+1]]
	}
	return out
}

// makeDict gives strings stored without a dictionary one, for a coded
// read, unless more than madeDictShare of them are distinct: then a query
// gains nothing from testing or grouping each distinct value once.
func makeDict(s *colenc.Strings) (dict []string, codes []uint32, ok bool) {
	n := s.Len()
	limit := int(float64(n) * madeDictShare)
	all := string(s.Data) // keys of the map, without an allocation each
	index := make(map[string]uint32)
	codes = make([]uint32, n)
	var offs []int
	var data []byte
	for i := range n {
		v := all[s.Offs[i]:s.Offs[i+1]]
		k, seen := index[v]
		if !seen {
			if len(offs) >= limit {
				return nil, nil, false
			}
			k = uint32(len(offs))
			index[v] = k
			offs = append(offs, len(data))
			data = append(data, v...)
		}
		codes[i] = k
	}
	// The entries share one allocation of only their own bytes.
	kept := string(data)
	dict = make([]string, len(offs))
	for i, off := range offs {
		end := len(kept)
		if i+1 < len(offs) {
			end = offs[i+1]
		}
		dict[i] = kept[off:end]
	}
	return dict, codes, true
}

// madeDictShare is the largest share of distinct values among strings for
// which makeDict makes a dictionary.
const madeDictShare = 0.75

// dictOf converts the dictionary of decoded strings that have one.
func dictOf(s *colenc.Strings) []string {
	all := string(s.Data)
	dict := make([]string, s.DictLen())
	for i := range dict {
		dict[i] = all[s.Offs[i]:s.Offs[i+1]]
	}
	return dict
}

// Assemble rebuilds the records of block b from the given leaves (indices
// into Schema.Leaves in increasing order; nil for all), calling emit for
// each record in order. Leaves without a chunk in the block have no value
// in any of its records and are left out.
func (r *Reader) Assemble(b int, leaves []int, emit func(dremel.Value) error) error {
	return r.AssembleSome(b, leaves, nil, func(_ int, v dremel.Value) error { return emit(v) })
}

// AssembleSome is Assemble for the records i of the block (counted from
// 0) for which want(i) is true, or all if want is nil (see
// dremel.AssembleSome).
func (r *Reader) AssembleSome(b int, leaves []int, want func(i int) bool, emit func(i int, v dremel.Value) error) error {
	if b < 0 || b >= len(r.Blocks) {
		return fmt.Errorf("segment: no block %d", b)
	}
	blk := &r.Blocks[b]
	// With few records wanted, they are assembled from their own entries,
	// picked out of the columns (coded: no string for the others), rather
	// than by stepping over the others' entries.
	var rows []int
	if want != nil {
		for i := range blk.Rows {
			if want(i) {
				rows = append(rows, i)
			}
		}
	}
	picking := want != nil && len(rows) <= blk.Rows/pickShare
	var fields []*dremel.Field
	var cols []*dremel.Column
	add := func(leaf int) error {
		col, err := r.readColumn(b, leaf, picking)
		if err != nil {
			return err
		}
		f := r.Schema.Leaves[leaf]
		if picking {
			if col = pick(col, f, rows); col == nil {
				return corruptf("block %d column %d: records do not match the block", b, leaf)
			}
		}
		fields = append(fields, f)
		cols = append(cols, col)
		return nil
	}
	if leaves == nil {
		for _, c := range blk.Chunks {
			if err := add(c.Leaf); err != nil {
				return err
			}
		}
	} else {
		for i, leaf := range leaves {
			if i > 0 && leaves[i-1] >= leaf {
				return fmt.Errorf("segment: leaves not in increasing order")
			}
			if blk.Chunk(leaf) == nil {
				continue
			}
			if err := add(leaf); err != nil {
				return err
			}
		}
	}
	if picking {
		err := dremel.AssembleSome(fields, cols, len(rows), nil, func(j int, v dremel.Value) error { return emit(rows[j], v) })
		if err != nil {
			return fmt.Errorf("block %d: %w", b, err)
		}
		return nil
	}
	if err := dremel.AssembleSome(fields, cols, blk.Rows, want, emit); err != nil {
		return fmt.Errorf("block %d: %w", b, err)
	}
	return nil
}

// pickShare: AssembleSome picks the entries of the records it wants out
// of the columns when it wants at most 1/pickShare of them.
const pickShare = 8

// pick returns a column of the entries and values of the records rows
// (in increasing order) of col, or nil if col has fewer records.
func pick(col *dremel.Column, leaf *dremel.Field, rows []int) *dremel.Column {
	if len(col.R) != len(col.D) {
		return nil
	}
	out := &dremel.Column{}
	maxD := uint8(leaf.MaxD())
	value := func(v int) {
		switch {
		case col.Codes != nil:
			out.Strs = append(out.Strs, col.Dict[col.Codes[v]])
		case leaf.Type == dremel.String || leaf.Type == dremel.Number || leaf.Type == dremel.JSON:
			out.Strs = append(out.Strs, col.Strs[v])
		case leaf.Type == dremel.Int:
			out.Ints = append(out.Ints, col.Ints[v])
		case leaf.Type == dremel.Bool:
			out.Bools = append(out.Bools, col.Bools[v])
		}
	}
	if leaf.MaxR() == 0 {
		// Entry i is record i's only one.
		if len(rows) > 0 && rows[len(rows)-1] >= len(col.D) {
			return nil
		}
		v, e := 0, 0
		for _, i := range rows {
			for _, d := range col.D[e:i] {
				v += int(b2i(d == maxD))
			}
			e = i
			out.R = append(out.R, 0)
			out.D = append(out.D, col.D[i])
			if col.D[i] == maxD {
				value(v)
			}
		}
		return out
	}
	rec, v, w := -1, 0, 0
	for e, d := range col.D {
		if col.R[e] == 0 {
			rec++
			for w < len(rows) && rows[w] < rec {
				w++
			}
			if w == len(rows) {
				break
			}
		}
		if rows[w] == rec {
			out.R = append(out.R, col.R[e])
			out.D = append(out.D, d)
			if d == maxD {
				value(v)
			}
		}
		if d == maxD {
			v++
		}
	}
	if w < len(rows) && (w < len(rows)-1 || rows[w] != rec) {
		return nil
	}
	return out
}

// noRepetitions are the repetition levels of every column without a
// repeated field on its path, shared.
var noRepetitions = make([]uint8, MaxBlockRows)

// b2i is 1 for true, 0 for false.
func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// Project returns, in schema order, the leaves whose path starts with one
// of the given paths (each a list of field names): "b" selects b and
// everything under it, of every type.
func (r *Reader) Project(paths [][]string) []int {
	var out []int
	for i, leaf := range r.Schema.Leaves {
		p := leaf.Path()
		for _, want := range paths {
			if len(want) <= len(p) && equal(p[:len(want)], want) {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// WriteJSON writes the records of every block, assembled from the given
// leaves (nil for all), as JSON lines.
func (r *Reader) WriteJSON(w io.Writer, leaves []int) error {
	var buf []byte
	for b := range r.Blocks {
		err := r.Assemble(b, leaves, func(v dremel.Value) error {
			buf = append(dremel.AppendJSON(buf, v), '\n')
			if len(buf) < 1<<16 {
				return nil
			}
			_, err := w.Write(buf)
			buf = buf[:0]
			return err
		})
		if err != nil {
			return err
		}
	}
	_, err := w.Write(buf)
	return err
}

// Complete reports whether every record of block b has a value in column
// leaf, as the block's presence chunk says without the column being
// read: false if the block has none or the column is not in it.
func (r *Reader) Complete(b, leaf int) (bool, error) {
	if b < 0 || b >= len(r.Blocks) || leaf < 0 || leaf >= len(r.Schema.Leaves) {
		return false, fmt.Errorf("segment: no block %d or leaf %d", b, leaf)
	}
	f := r.Schema.Leaves[leaf]
	if !r.Blocks[b].hasPresence || !isFlat(f) || r.Blocks[b].Chunk(leaf) == nil {
		return false, nil
	}
	p, err := r.presence(b)
	if err != nil {
		return false, fmt.Errorf("block %d: %w", b, err)
	}
	bit, ok := p.pos[columnID(f.Path(), f.Repetitions(), f.Type)]
	if !ok {
		return false, nil
	}
	for s := 0; s+p.stride <= len(p.table); s += p.stride {
		if p.table[s+bit/8]>>(bit%8)&1 == 0 {
			return false, nil
		}
	}
	return true, nil
}
