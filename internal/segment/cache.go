package segment

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync"

	"stele/internal/dremel"
)

// Cache keeps what reading segment files decodes, for every File opened
// through it: footers, presence chunks, and columns in the form
// ReadColumnCoded gives them (ReadColumn makes its strings from that). It holds at most its bound in bytes (an estimate of
// the decoded memory), dropping the least recently used first. A Cache is
// safe for concurrent use; what it hands out is shared and must not be
// modified.
//
// Segment files are immutable, so an entry stays right as long as its
// file exists. Entries are keyed by the file's identity: its path, size
// and modification time, and the checksum of its footer, read again at
// every open. A file that a merge or retention deleted is never asked for
// again and its entries age out; a new file, even at the same path, has
// other keys.
type Cache struct {
	max int64

	// mu guards the fields below.
	mu    sync.Mutex
	used  int64
	items map[cacheKey]*cacheItem
	lru   cacheItem // sentinel of a ring: lru.next is the most recently used
	stats CacheStats
}

// CacheStats count what a Cache did.
type CacheStats struct {
	Hits, Misses int64
	Entries      int
	Bytes        int64
}

// fileID identifies a segment file's contents.
type fileID struct {
	path      string
	size      int64
	mtime     int64
	footerSum uint64
}

// Kinds of cache entry.
const (
	kindFooter   = iota // *Reader's Schema and Blocks, as a footerEntry
	kindPresence        // *presence of a block
	kindCoded           // *dremel.Column read with ReadColumnCoded
)

type cacheKey struct {
	file  fileID
	kind  uint8
	block int32
	leaf  int32
}

type cacheItem struct {
	key        cacheKey
	val        any
	size       int64
	prev, next *cacheItem
}

// footerEntry is a decoded footer.
type footerEntry struct {
	schema *dremel.Schema
	blocks []Block
}

// NewCache returns a cache of at most maxBytes; with maxBytes ≤ 0 it
// keeps nothing.
func NewCache(maxBytes int64) *Cache {
	c := &Cache{max: maxBytes, items: map[cacheKey]*cacheItem{}}
	c.lru.next, c.lru.prev = &c.lru, &c.lru
	return c
}

// Stats returns the cache's counts so far.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Entries, s.Bytes = len(c.items), c.used
	return s
}

// get returns the entry of k, or nil.
func (c *Cache) get(k cacheKey) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	it := c.items[k]
	if it == nil {
		c.stats.Misses++
		return nil
	}
	c.stats.Hits++
	it.unlink()
	c.pushFront(it)
	return it.val
}

// add keeps v under k and returns what the cache holds for k: v, or the
// entry another reader added first.
func (c *Cache) add(k cacheKey, v any, size int64) any {
	if size > c.max {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if it := c.items[k]; it != nil {
		return it.val
	}
	for c.used+size > c.max {
		old := c.lru.prev
		old.unlink()
		delete(c.items, old.key)
		c.used -= old.size
	}
	it := &cacheItem{key: k, val: v, size: size}
	c.items[k] = it
	c.pushFront(it)
	c.used += size
	return v
}

func (c *Cache) pushFront(it *cacheItem) {
	it.prev, it.next = &c.lru, c.lru.next
	it.prev.next, it.next.prev = it, it
}

func (it *cacheItem) unlink() {
	it.prev.next, it.next.prev = it.next, it.prev
	it.prev, it.next = nil, nil
}

// OpenFile opens the segment file at path as segment.OpenFile does, with
// its footer from c if c holds the same file's. Presence chunks and
// columns read from it go through c.
func (c *Cache) OpenFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := c.open(f, path)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open segment %s: %w", path, err)
	}
	return &File{Reader: r, f: f}, nil
}

func (c *Cache) open(f *os.File, path string) (*Reader, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	// The footer's checksum and the trailer end the file.
	var tail [checksumSize + trailerSize]byte
	if size < int64(headerSize+len(tail)) {
		return nil, corruptf("%d bytes is too short for a segment", size)
	}
	if _, err := f.ReadAt(tail[:], size-int64(len(tail))); err != nil {
		return nil, fmt.Errorf("read trailer: %w", err)
	}
	id := fileID{path: path, size: size, mtime: st.ModTime().UnixNano(), footerSum: binary.LittleEndian.Uint64(tail[:])}
	k := cacheKey{file: id, kind: kindFooter}
	if e, ok := c.get(k).(*footerEntry); ok {
		return &Reader{ra: f, Schema: e.schema, Blocks: e.blocks, cache: c, id: id, pres: map[int]*presence{}}, nil
	}
	r, sum, err := open(f, size)
	if err != nil {
		return nil, err
	}
	if sum != id.footerSum {
		return r, nil // the file changed since the first read: keep nothing of it
	}
	c.add(k, &footerEntry{schema: r.Schema, blocks: r.Blocks}, footerCost(r))
	r.cache, r.id = c, id
	return r, nil
}

// footerCost estimates the memory of a decoded footer.
func footerCost(r *Reader) int64 {
	n := int64(len(r.Schema.Leaves)) * 256
	for i := range r.Blocks {
		n += 128 + int64(len(r.Blocks[i].Chunks))*96
		for _, c := range r.Blocks[i].Chunks {
			n += int64(len(c.bloom))
		}
	}
	return n
}

// presenceCost estimates the memory of a decoded presence chunk.
func presenceCost(p *presence) int64 {
	return 128 + int64(len(p.pos))*16 + int64(len(p.table)) + int64(len(p.shapes))*2
}

// columnCost estimates the memory of a decoded column.
func columnCost(c *dremel.Column) int64 {
	r := len(c.R)
	if r > 0 && &c.R[0] == &noRepetitions[0] {
		r = 0 // shared
	}
	n := int64(256 + r + len(c.D) + len(c.Bools) + 8*len(c.Ints) + 4*len(c.Codes) + 16*(len(c.Strs)+len(c.Dict)))
	for _, s := range c.Strs {
		n += int64(len(s))
	}
	for _, s := range c.Dict {
		n += int64(len(s))
	}
	return n
}
