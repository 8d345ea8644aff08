package colenc

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"io"
	"math"
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

// appendFlate appends uvarint(len(p)) and the raw DEFLATE stream of p.
func appendFlate(dst, p []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(p)))
	var buf bytes.Buffer
	zw, err := flate.NewWriter(&buf, flateLevel)
	if err != nil {
		panic("colenc: internal error: " + err.Error())
	}
	zw.Write(p) // writes to a bytes.Buffer cannot fail
	zw.Close()
	return append(dst, buf.Bytes()...)
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
	zr := flate.NewReader(br) // br is an io.ByteReader: flate reads no further than the stream's end
	if _, err := io.Copy(&buf, io.LimitReader(zr, int64(size)+1)); err != nil {
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
