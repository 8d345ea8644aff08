package colenc

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"io"
	"math"
	"sync"
)

// huffmanSize estimates, from the byte histogram, the bytes an order-0
// entropy coder needs for p: about what flate reaches on data without
// repeated strings. It lets the encoders skip compressing streams flate
// cannot win.
func huffmanSize(p []byte) int {
	var hist [256]int
	for _, c := range p {
		hist[c]++
	}
	bits := 0.0
	n := float64(len(p))
	for _, h := range hist {
		if h > 0 {
			bits -= float64(h) * math.Log2(float64(h)/n)
		}
	}
	return int(bits / 8)
}

// cheapFlateEstimate estimates the size of appendFlateBest(nil, p) for
// less than compressing p costs: Huffman codes alone from p's byte
// histogram, LZ matching from a decideSample from p's middle. A sample
// smaller than flate's window sees fewer repeats than flate does, but it
// also misses what the rest of p costs (its other Huffman tables, its
// odd parts), so the estimate errs either way; callers leave a margin. It
// returns 0 (flate may win) when p is no larger than a few samples.
func cheapFlateEstimate(p []byte) int {
	if len(p) <= 4*decideSample {
		return 0
	}
	mid := len(p)/2 - decideSample/2
	s := p[mid : mid+decideSample]
	var buf [decideSample]byte // a sample that compresses at all fits
	z := len(appendFlate(buf[:0], s, lz))
	return min(huffmanSize(p), int(int64(z)*int64(len(p))/decideSample))
}

// flateMode is how appendFlate compresses. Both make standard DEFLATE,
// which one decoder reads.
type flateMode int

const (
	// lz is flate at flateLevel: repeated strings and Huffman codes.
	lz flateMode = iota
	// huffmanOnly codes bytes with Huffman codes alone. On streams with
	// few long repeats (random identifiers, dictionary indexes whose runs
	// the hybrid encoding took out) the short matches lz finds cost more
	// bits than they save, and finding them is most of flate's time.
	huffmanOnly
	// lzFast is flate's fastest LZ matching, used only to estimate: it
	// finds fewer and shorter repeats than lz for a fraction of the time,
	// so where it beats huffmanOnly, lz does too.
	lzFast
)

// appendFlateBest is appendFlate in whichever mode compresses p smaller:
// both are tried on p when it is small, else on a sample from its middle
// that then decides for the whole.
func appendFlateBest(dst, p []byte) []byte { return Encoder{}.appendFlateBest(dst, p) }

// appendFlateBest is the package's appendFlateBest with e's effort: a fast
// Encoder codes with Huffman codes alone.
func (e Encoder) appendFlateBest(dst, p []byte) []byte {
	if e.Fast {
		return appendFlate(dst, p, huffmanOnly)
	}
	if len(p) <= 2*decideSample {
		// Small enough to try whole: what it compresses to is the result.
		start := len(dst)
		dst = appendFlate(dst, p, huffmanOnly)
		h := len(dst) - start
		var buf [2 * decideSample]byte
		switch f := len(appendFlate(buf[:0], p, lzFast)); {
		case f < h-h/8:
			return appendFlate(dst[:start], p, lz)
		case f < h+lzBand(h, len(p)):
			if z := appendFlate(buf[:0], p, lz); len(z) < h {
				return append(dst[:start], z...)
			}
		}
		return dst
	}
	mid := len(p)/2 - decideSample/2
	s := p[mid : mid+decideSample]
	var buf [decideSample]byte // a sample that compresses at all fits
	mode := huffmanOnly
	// lzFast decides when it is well below huffmanOnly; a little above it
	// (lzBand), lz's better matching may still tip it, and lz is tried.
	h := len(appendFlate(buf[:0], s, huffmanOnly))
	switch f := len(appendFlate(buf[:0], s, lzFast)); {
	case f < h-h/8:
		mode = lz
	case f < h+lzBand(h, len(s)) && len(appendFlate(buf[:0], s, lz)) < h:
		mode = lz
	}
	return appendFlate(dst, p, mode)
}

// lzBand is how far above h, the size of n bytes under huffmanOnly,
// lzFast may be and lz still be tried: on streams of a small alphabet (h
// under 2 bits a byte), lzFast misses the short repeats lz finds, and
// trying lz there costs little for what it may save.
func lzBand(h, n int) int {
	if 4*h < n {
		return h / 2
	}
	return h / 8
}

// decideSample is the size of the sample on which appendFlateBest
// chooses its mode: whether LZ matching pays shows in a few kilobytes,
// and trying the modes on more costs more than a wrong choice saves.
const decideSample = 4 << 10

// appendFlate appends uvarint(len(p)) and the raw DEFLATE stream of p.
func appendFlate(dst, p []byte, mode flateMode) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(p)))
	var d *deflater
	select {
	case d = <-deflaters[mode]:
	default:
		d = newDeflater(flateLevels[mode])
	}
	d.out.b = dst
	d.zw.Reset(&d.out)
	d.zw.Write(p) // writes to a sliceWriter cannot fail
	d.zw.Close()
	dst = d.out.b
	d.out.b = nil
	select {
	case deflaters[mode] <- d:
	default: // enough are idle
	}
	return dst
}

// deflater is a flate.Writer with the slice it appends to. A new
// flate.Writer allocates up to a megabyte; the idle ones kept let the
// many small streams of segments share a few.
type deflater struct {
	zw  *flate.Writer
	out sliceWriter
}

// deflaters holds a few idle deflaters per flateMode. Unlike a
// sync.Pool's, they outlive garbage collections, which come several
// times a second while the store ingests: a pool would be empty at
// nearly every stream.
var deflaters = [...]chan *deflater{
	lz:          make(chan *deflater, idleDeflaters),
	huffmanOnly: make(chan *deflater, idleDeflaters),
	lzFast:      make(chan *deflater, idleDeflaters),
}

// idleDeflaters is how many deflaters of each mode are kept: the store
// encodes from two goroutines at most (a flush and a merge).
const idleDeflaters = 2

// flateLevels is the compress/flate level of each flateMode.
var flateLevels = [...]int{lz: flateLevel, huffmanOnly: flate.HuffmanOnly, lzFast: flate.BestSpeed}

func newDeflater(level int) *deflater {
	d := new(deflater)
	zw, err := flate.NewWriter(&d.out, level)
	if err != nil {
		panic("colenc: internal error: " + err.Error())
	}
	d.zw = zw
	return d
}

// inflaters holds idle flate readers: each holds a 32 KB window and its
// tables, which a reset reuses.
var inflaters = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

// sliceWriter appends what is written to b.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// inflate reads what appendFlate wrote: the size, then a DEFLATE stream
// that must expand to exactly that many bytes, at most MaxBytes. Memory
// grows with what the stream yields, not with what the size claims.
func inflate(r *reader) ([]byte, error) {
	size := r.uvarint()
	if r.err != nil {
		return nil, r.err
	}
	if size > MaxBytes {
		return nil, corruptf("flate stream of %d bytes", size)
	}
	var buf bytes.Buffer
	buf.Grow(int(min(size+1, 1<<20))) // a guess, capped: growth follows the data
	br := bytes.NewReader(r.b)
	zr := inflaters.Get().(io.ReadCloser)
	defer inflaters.Put(zr)
	// br is an io.ByteReader: flate reads no further than the stream's end.
	if err := zr.(flate.Resetter).Reset(br, nil); err != nil {
		return nil, corruptf("flate: %v", err)
	}
	if _, err := buf.ReadFrom(io.LimitReader(zr, int64(size)+1)); err != nil {
		return nil, corruptf("flate: %v", err)
	}
	if uint64(buf.Len()) != size {
		return nil, corruptf("flate stream of %d bytes, want %d", buf.Len(), size)
	}
	if br.Len() != 0 {
		return nil, corruptf("%d bytes after the flate stream", br.Len())
	}
	r.b = nil
	return buf.Bytes(), nil
}
