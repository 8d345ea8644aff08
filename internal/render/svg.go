package render

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// svgWriter draws the rows of an every query as line charts, one panel per
// value column (each has its own unit: a count next to a p99 in ms), with
// one line per series: a distinct combination of group keys. It buffers
// every row (bounded by maxChartRows and maxChartKeyBytes) and draws at End.
type svgWriter struct {
	w io.Writer
	h Header

	keyCols   []int // group-key columns
	valueCols []int // the value columns charted, at most maxPanels
	allValues int   // how many value columns the result has

	index    map[string]int // series identity (its keys as JSON) → seriesList index
	series   []*series
	keyBytes int
	rows     int
	noTime   int  // rows without an integer time, not drawn
	full     bool // a limit was reached; later rows are not drawn
}

type series struct {
	label  string
	points []point
	total  float64 // of the first value column, to rank series
}

type point struct {
	t int64
	v [maxPanels]float64 // NaN where there is no number to draw
}

func (s *svgWriter) ContentType() string { return "image/svg+xml" }

func (s *svgWriter) Begin(h Header) error {
	if h.Raw || h.Time < 0 || h.Time >= len(h.Columns) {
		return ErrNeedsEvery
	}
	if h.Keys < 0 || h.Keys > len(h.Columns)-1 {
		return fmt.Errorf("render: header has %d key columns of %d", h.Keys, len(h.Columns))
	}
	s.h = h
	for i := range h.Columns {
		switch {
		case i == h.Time:
		case len(s.keyCols) < h.Keys:
			s.keyCols = append(s.keyCols, i)
		default:
			s.allValues++
			if len(s.valueCols) < maxPanels {
				s.valueCols = append(s.valueCols, i)
			}
		}
	}
	if s.allValues == 0 {
		return ErrNoValues
	}
	s.index = make(map[string]int)
	return nil
}

func (s *svgWriter) Row(cells []Cell) error {
	if err := checkRow(&s.h, cells); err != nil {
		return err
	}
	if s.full {
		return nil
	}
	if s.rows == maxChartRows {
		s.full = true
		return nil
	}
	s.rows++
	tc := cells[s.h.Time]
	if tc.Kind != Int {
		s.noTime++
		return nil
	}
	var id []byte
	for _, k := range s.keyCols {
		id = appendCellJSON(append(id, ','), cells[k])
	}
	i, ok := s.index[string(id)]
	if !ok {
		if s.keyBytes+len(id) > maxChartKeyBytes {
			s.full = true
			return nil
		}
		s.keyBytes += len(id)
		i = len(s.series)
		s.index[string(id)] = i
		s.series = append(s.series, &series{label: s.label(cells)})
	}
	sr := s.series[i]
	p := point{t: tc.Int}
	for j := range p.v {
		p.v[j] = math.NaN()
	}
	for j, c := range s.valueCols {
		p.v[j] = number(cells[c])
	}
	if !math.IsNaN(p.v[0]) {
		sr.total += p.v[0]
	}
	sr.points = append(sr.points, p)
	return nil
}

// label names a series in the legend: its key value, or key=value pairs
// when there are several keys.
func (s *svgWriter) label(cells []Cell) string {
	switch len(s.keyCols) {
	case 0:
		return "all rows"
	case 1:
		return clipRunes(text(cells[s.keyCols[0]], "null"), maxLabelRunes)
	}
	var b strings.Builder
	for i, k := range s.keyCols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(clipRunes(s.h.Columns[k], maxLabelRunes))
		b.WriteByte('=')
		b.WriteString(clipRunes(text(cells[k], "null"), maxLabelRunes))
		if b.Len() > 4*maxLabelRunes*len(s.keyCols) {
			break
		}
	}
	return clipRunes(b.String(), maxLabelRunes)
}

// number is a cell's value to plot, or NaN.
func number(c Cell) float64 {
	switch c.Kind {
	case Int:
		return float64(c.Int)
	case Float:
		f, err := strconv.ParseFloat(c.Str, 64)
		if err == nil && !math.IsInf(f, 0) {
			return f
		}
	}
	return math.NaN()
}

func (s *svgWriter) Event([]byte) error { return ErrRawChart }

// Flush only flushes the underlying writer: a chart is drawn at End.
func (s *svgWriter) Flush() error { return flushUnderlying(s.w) }

// Geometry of the chart, in SVG user units (pixels).
const (
	chartWidth  = 960
	plotLeft    = 72
	plotWidth   = 600
	legendLeft  = plotLeft + plotWidth + 28
	titleHeight = 44
	panelHeight = 196 // a panel: its title, the plot and the time labels
	plotTop     = 18  // of the plot within its panel
	plotHeight  = 140
	lineHeight  = 16
)

// palette has maxSeries colours, one per series drawn.
var palette = [maxSeries]string{
	"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
	"#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
	"#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
	"#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
}

func (s *svgWriter) End(errMsg string) error {
	drawn := slices.Clone(s.series)
	slices.SortStableFunc(drawn, func(a, b *series) int {
		if c := cmp.Compare(b.total, a.total); c != 0 {
			return c
		}
		return strings.Compare(a.label, b.label)
	})
	drawn = drawn[:min(len(drawn), maxSeries)]
	tmin, tmax := int64(math.MaxInt64), int64(math.MinInt64)
	for _, sr := range drawn {
		slices.SortStableFunc(sr.points, func(a, b point) int { return cmp.Compare(a.t, b.t) })
		if len(sr.points) > 0 {
			tmin = min(tmin, sr.points[0].t)
			tmax = max(tmax, sr.points[len(sr.points)-1].t)
		}
	}

	var notes []string
	if s.full {
		notes = append(notes, fmt.Sprintf("only the first %d rows are drawn: the result is larger than a chart holds", s.rows))
	}
	if s.noTime > 0 {
		notes = append(notes, fmt.Sprintf("%d rows without an integer time_ns are not drawn", s.noTime))
	}
	if len(s.series) == 0 {
		notes = append(notes, "no rows to draw")
	}
	if errMsg != "" {
		notes = append(notes, "error: the query failed: "+clipRunes(errMsg, maxNoteRunes))
	}

	panels := len(s.valueCols)
	legendLines := len(drawn) + 1
	if s.allValues > panels {
		legendLines++
	}
	height := max(titleHeight+panels*panelHeight+20, titleHeight+legendLines*lineHeight+20) + len(notes)*lineHeight + 10
	notesTop := height - len(notes)*lineHeight

	b := make([]byte, 0, 64<<10)
	b = fmt.Appendf(b, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">
`, chartWidth, height, chartWidth, height)
	title := s.title()
	b = append(b, "<title>"...)
	b = appendXML(b, title)
	b = append(b, "</title>\n"...)
	b = fmt.Appendf(b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", chartWidth, height)
	b = fmt.Appendf(b, `<text x="%d" y="24" font-size="15" font-weight="bold">`, plotLeft)
	b = appendXML(b, title)
	b = append(b, "</text>\n"...)

	for p := range panels {
		b = s.appendPanel(b, p, titleHeight+p*panelHeight, drawn, tmin, tmax)
	}
	if len(drawn) > 0 {
		b = fmt.Appendf(b, `<text x="%d" y="%d" text-anchor="middle" fill="#555555">time (UTC) from %s to %s</text>`+"\n",
			plotLeft+plotWidth/2, titleHeight+panels*panelHeight+8,
			formatTime(tmin, time.RFC3339), formatTime(tmax, time.RFC3339))
	}
	b = s.appendLegend(b, drawn)
	for i, n := range notes {
		b = fmt.Appendf(b, `<text x="%d" y="%d" fill="#c00000" font-weight="bold">`, plotLeft, notesTop+i*lineHeight)
		b = appendXML(b, n)
		b = append(b, "</text>\n"...)
	}
	b = append(b, "</svg>\n"...)
	_, err := s.w.Write(b)
	return err
}

func (s *svgWriter) title() string {
	var vals []string
	for _, c := range s.valueCols {
		vals = append(vals, s.h.Columns[c])
	}
	t := strings.Join(vals, ", ")
	if len(s.keyCols) > 0 {
		var keys []string
		for _, c := range s.keyCols {
			keys = append(keys, s.h.Columns[c])
		}
		t += " by " + strings.Join(keys, ", ")
	}
	return clipRunes(t, 2*maxLabelRunes)
}

func (s *svgWriter) appendPanel(b []byte, p, top int, drawn []*series, tmin, tmax int64) []byte {
	y0 := top + plotTop
	b = fmt.Appendf(b, `<g class="panel">`+"\n"+`<text x="%d" y="%d" font-weight="bold">`, plotLeft, y0-6)
	b = appendXML(b, clipRunes(s.h.Columns[s.valueCols[p]], 2*maxLabelRunes))
	b = append(b, "</text>\n"...)

	lo, hi := math.Inf(1), math.Inf(-1)
	for _, sr := range drawn {
		for _, pt := range sr.points {
			if v := pt.v[p]; !math.IsNaN(v) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if lo > hi { // nothing to draw
		lo, hi = 0, 1
	}
	ticks, lo, hi := valueTicks(lo, hi)
	yOf := func(v float64) float64 {
		if hi == lo {
			return float64(y0 + plotHeight/2)
		}
		r := (v/2 - lo/2) / (hi/2 - lo/2) // halves: no overflow near ±MaxFloat64
		if math.IsNaN(r) {
			r = 0.5
		}
		return float64(y0+plotHeight) - r*plotHeight
	}
	span := float64(tmax) - float64(tmin)
	xOf := func(t int64) float64 {
		if span <= 0 {
			return plotLeft + plotWidth/2
		}
		return plotLeft + (float64(t)-float64(tmin))/span*plotWidth
	}

	// Grid, value ticks, axes.
	for _, v := range ticks {
		y := yOf(v)
		b = fmt.Appendf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e4e4e4"/>`+"\n", plotLeft, y, plotLeft+plotWidth, y)
		b = fmt.Appendf(b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", plotLeft-6, y+4, formatTick(v, ticks))
	}
	if len(drawn) > 0 {
		for _, t := range timeTicks(tmin, tmax) {
			x := xOf(t.t)
			b = fmt.Appendf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#888888"/>`+"\n", x, y0+plotHeight, x, y0+plotHeight+4)
			b = fmt.Appendf(b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x, y0+plotHeight+16, t.label)
		}
	}
	b = fmt.Appendf(b, `<path d="M%d %dV%dH%d" fill="none" stroke="#888888"/>`+"\n", plotLeft, y0, y0+plotHeight, plotLeft+plotWidth)

	// One path per series; a value that is not a number breaks its line,
	// and a point alone is drawn as a dot.
	for i, sr := range drawn {
		b = fmt.Appendf(b, `<path class="series" fill="none" stroke="%s" stroke-width="1.5" stroke-linecap="round" stroke-linejoin="round" d="`, palette[i])
		run := 0
		for _, pt := range sr.points {
			v := pt.v[p]
			if math.IsNaN(v) {
				if run == 1 {
					b = append(b, "h0"...)
				}
				run = 0
				continue
			}
			cmd := byte('L')
			if run == 0 {
				cmd = 'M'
			}
			b = fmt.Appendf(b, "%c%.1f %.1f", cmd, xOf(pt.t), yOf(v))
			run++
		}
		if run == 1 {
			b = append(b, "h0"...)
		}
		b = append(b, "\"/>\n"...)
	}
	return append(b, "</g>\n"...)
}

func (s *svgWriter) appendLegend(b []byte, drawn []*series) []byte {
	y := titleHeight + plotTop
	head := fmt.Sprintf("%d series", len(s.series))
	if len(s.series) > len(drawn) {
		head = fmt.Sprintf("top %d of %d series by total %s", len(drawn), len(s.series), s.h.Columns[s.valueCols[0]])
	}
	b = fmt.Appendf(b, `<g class="legend">`+"\n"+`<text x="%d" y="%d" font-weight="bold">`, legendLeft, y)
	b = appendXML(b, clipRunes(head, maxLabelRunes))
	b = append(b, "</text>\n"...)
	for i, sr := range drawn {
		y += lineHeight
		b = fmt.Appendf(b, `<rect x="%d" y="%d" width="12" height="4" fill="%s"/><text x="%d" y="%d">`, legendLeft, y-6, palette[i], legendLeft+18, y)
		b = appendXML(b, sr.label)
		b = append(b, "</text>\n"...)
	}
	if s.allValues > len(s.valueCols) {
		y += lineHeight
		b = fmt.Appendf(b, `<text x="%d" y="%d" fill="#555555">charting %d of %d value columns</text>`+"\n", legendLeft, y, len(s.valueCols), s.allValues)
	}
	return append(b, "</g>\n"...)
}

// valueTicks chooses about five round tick values (1, 2 or 5 times a power
// of ten apart) covering lo..hi and including 0 when all values are
// positive, and returns them with the widened range.
func valueTicks(lo, hi float64) ([]float64, float64, float64) {
	if lo > 0 {
		lo = 0
	}
	if hi == lo {
		hi = lo + 1
	}
	span := hi - lo
	if math.IsInf(span, 0) || math.IsNaN(span) {
		return []float64{lo, hi}, lo, hi
	}
	raw := span / 5
	step := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*step >= raw {
			step *= m
			break
		}
	}
	first, last := math.Floor(lo/step), math.Ceil(hi/step)
	if !(last-first <= 12) || step == 0 { // float precision ran out
		return []float64{lo, hi}, lo, hi
	}
	var ticks []float64
	for k := first; k <= last; k++ {
		ticks = append(ticks, k*step)
	}
	return ticks, first * step, last * step
}

// formatTick writes v with as many decimals as the tick spacing needs.
func formatTick(v float64, ticks []float64) string {
	step := 1.0
	if len(ticks) > 1 {
		step = ticks[1] - ticks[0]
	}
	if math.Abs(v) >= 1e9 || (step < 1e-6 && step > 0) {
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	decimals := 0
	if step > 0 && step < 1 {
		decimals = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

type timeTick struct {
	t     int64
	label string
}

// tickSteps are the time tick spacings a chart chooses from.
var tickSteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour,
	91 * 24 * time.Hour, 364 * 24 * time.Hour, 10 * 364 * 24 * time.Hour, 100 * 364 * 24 * time.Hour,
}

// timeTicks chooses at most about seven ticks at round multiples of a
// spacing from tickSteps (since the Unix epoch, UTC) within tmin..tmax.
func timeTicks(tmin, tmax int64) []timeTick {
	span := float64(tmax) - float64(tmin)
	step := tickSteps[len(tickSteps)-1]
	for _, d := range tickSteps {
		if span/float64(d) <= 7 {
			step = d
			break
		}
	}
	layout := "15:04:05"
	switch {
	case step >= 24*time.Hour:
		layout = "2006-01-02"
	case span >= float64(24*time.Hour):
		layout = "01-02 15:04"
	case step >= time.Minute:
		layout = "15:04"
	}
	first := tmin / int64(step) * int64(step)
	if first < tmin {
		first += int64(step)
	}
	var ticks []timeTick
	for t := first; t <= tmax && t >= first && len(ticks) < 20; t += int64(step) {
		ticks = append(ticks, timeTick{t, formatTime(t, layout)})
	}
	return ticks
}

// appendXML appends s as XML character data or attribute text: markup
// characters as entities, and (through appendVisible) control characters,
// bidi controls and invalid UTF-8 as visible escapes, so no value can end
// an element, start a script or make the file invalid XML.
func appendXML(dst []byte, s string) []byte {
	s = visible(s, false)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '&':
			dst = append(dst, "&amp;"...)
		case '<':
			dst = append(dst, "&lt;"...)
		case '>':
			dst = append(dst, "&gt;"...)
		case '"':
			dst = append(dst, "&quot;"...)
		case '\'':
			dst = append(dst, "&#39;"...)
		case 0xfffe, 0xffff: // not XML characters
			dst = append(dst, "\ufffd"...)
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}
