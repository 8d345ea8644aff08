package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"stele/internal/dremel"
	"stele/internal/segment"
)

// lines calls f with each non-blank line of r (without its newline) and its
// line number, refusing lines longer than max.
func lines(r io.Reader, max int, f func(n int, line []byte) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	for n := 1; ; n++ {
		var line []byte
		var err error
		for {
			var frag []byte
			frag, err = br.ReadSlice('\n')
			if len(line)+len(frag) > max+1 {
				return fmt.Errorf("line %d: longer than %d bytes", n, max)
			}
			line = append(line, frag...)
			if err != bufio.ErrBufferFull {
				break
			}
		}
		if err != nil && err != io.EOF {
			return err
		}
		if s := strings.TrimRight(string(line), "\r\n"); strings.TrimSpace(s) != "" {
			if ferr := f(n, []byte(s)); ferr != nil {
				return fmt.Errorf("line %d: %w", n, ferr)
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// maxColumnLine bounds a column line of `store assemble`: one line holds a
// whole column.
const maxColumnLine = 1 << 30

func shred(stdin io.Reader, stdout io.Writer) error {
	var recs []dremel.Value
	err := lines(stdin, segment.MaxLineBytes, func(_ int, line []byte) error {
		v, err := dremel.ParseEvent(string(line))
		recs = append(recs, v)
		return err
	})
	if err != nil {
		return err
	}
	s, cols, err := dremel.Shred("", recs)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(stdout)
	var buf []byte
	for i, leaf := range s.Leaves {
		buf = dremel.AppendColumnLine(buf[:0], leaf, &cols[i])
		bw.Write(buf)
	}
	return bw.Flush()
}

func assemble(stdin io.Reader, stdout io.Writer) error {
	var cls []*dremel.ColumnLine
	err := lines(stdin, maxColumnLine, func(_ int, line []byte) error {
		cl, err := dremel.ParseColumnLine(string(line))
		cls = append(cls, cl)
		return err
	})
	if err != nil {
		return err
	}
	s, idx, err := dremel.SchemaOf(cls)
	if err != nil {
		return err
	}
	cols := make([]*dremel.Column, len(s.Leaves))
	for i, j := range idx {
		cols[j] = &cls[i].Column
	}
	bw := bufio.NewWriter(stdout)
	var buf []byte
	err = dremel.Assemble(s.Leaves, cols, -1, func(v dremel.Value) error {
		buf = append(dremel.AppendJSON(buf[:0], v), '\n')
		_, err := bw.Write(buf)
		return err
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

func pack(stdin io.Reader, path string) error {
	w, err := segment.Create(path)
	if err != nil {
		return err
	}
	if err := w.AddLines(stdin); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

func unpack(path, fields string, stdout io.Writer) error {
	f, err := segment.OpenFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var leaves []int
	if fields != "" {
		var paths [][]string
		for _, name := range strings.Split(fields, ",") {
			p, err := dremel.SplitColumnName(name)
			if err != nil {
				return err
			}
			paths = append(paths, p)
		}
		leaves = f.Project(paths)
		if leaves == nil {
			leaves = []int{}
		}
	}
	bw := bufio.NewWriterSize(stdout, 1<<16)
	if err := f.WriteJSON(bw, leaves); err != nil {
		return err
	}
	return bw.Flush()
}

func inspect(path string, stdout io.Writer) error {
	f, err := segment.OpenFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(stdout)
	if err := f.Inspect(bw, st.Size()); err != nil {
		return err
	}
	return bw.Flush()
}
