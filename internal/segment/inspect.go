package segment

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"stele/internal/colenc"
	"stele/internal/dremel"
)

// Inspect prints the layout of the segment as text: the schema, and for
// every block its zone maps and each column chunk's encoding and size.
// size is the file's size.
func (r *Reader) Inspect(w io.Writer, size int64) error {
	rows := 0
	for _, b := range r.Blocks {
		rows += b.Rows
	}
	fmt.Fprintf(w, "segment: format version %d, %d bytes, %d blocks, %d records, %d columns", Version, size, len(r.Blocks), rows, len(r.Schema.Leaves))
	if rows > 0 {
		fmt.Fprintf(w, ", %.2f bytes/record", float64(size)/float64(rows))
	}
	fmt.Fprintf(w, "\n\nschema:\n%s\n", indent(r.Schema.String()))
	total := make([]int64, len(r.Schema.Leaves))
	var presTotal int64
	for i, b := range r.Blocks {
		fmt.Fprintf(w, "block %d: %d records", i, b.Rows)
		if b.HasTime {
			fmt.Fprintf(w, ", time_ns %d .. %d", b.MinTime, b.MaxTime)
		}
		if b.hasPresence {
			fmt.Fprintf(w, ", presence chunk %d bytes", b.presSize)
			presTotal += b.presSize
		}
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  column\ttype\tentries\tencoding\tbytes\tzone map")
		for _, c := range b.Chunks {
			leaf := r.Schema.Leaves[c.Leaf]
			enc := "-"
			if c.Encoding != 0 {
				enc = colenc.EncodingName(c.Encoding)
			}
			zone := ""
			if c.HasMinMax {
				zone = fmt.Sprintf("min %d max %d", c.Min, c.Max)
			}
			if c.bloom != nil {
				zone = fmt.Sprintf("bloom %d bytes", len(c.bloom))
			}
			if b.hasPresence && isFlat(leaf) {
				enc += " (levels in presence)"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%d\t%s\n", columnLabel(leaf), leaf.Type, c.Entries, enc, c.Size, zone)
			total[c.Leaf] += c.Size
		}
		tw.Flush()
	}
	fmt.Fprintln(w, "\ncolumns (all blocks):")
	if rows > 0 {
		fmt.Fprintf(w, "  presence chunks: %d bytes, %.3f bytes/record\n", presTotal, float64(presTotal)/float64(rows))
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  column\ttype\tbytes\tbytes/record")
	for i, leaf := range r.Schema.Leaves {
		per := 0.0
		if rows > 0 {
			per = float64(total[i]) / float64(rows)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%.3f\n", columnLabel(leaf), leaf.Type, total[i], per)
	}
	return tw.Flush()
}

// columnLabel is the column name with [] after each repeated field.
func columnLabel(leaf *dremel.Field) string {
	var b strings.Builder
	for i, rep := range leaf.Repetitions() {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(dremel.ColumnName(leaf.Path()[i : i+1]))
		if rep == dremel.Repeated {
			b.WriteString("[]")
		}
	}
	return b.String()
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ")
}
