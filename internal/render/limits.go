package render

// Limits on what a result stream may make a renderer hold. Rows and events
// carry values from untrusted programs and groups from any client's query;
// every buffer a format needs is bounded by these.
const (
	// maxBufferedRows is how many rows table buffers to choose column
	// widths, and how many raw events table and csv buffer to choose their
	// columns: enough for one screen of typical results and for the default
	// raw limit of 100, small enough to start a large result promptly.
	maxBufferedRows = 1000

	// maxBufferedBytes bounds the text of those buffered rows or events: a
	// thousand events of the largest line size would otherwise be
	// gigabytes. Reaching it commits the layout early, as a full buffer does.
	maxBufferedBytes = 4 << 20

	// maxColumnWidth caps a table column's width in runes: one long message
	// must not pad every other row to a screen's width; longer values
	// overflow their column instead.
	maxColumnWidth = 100

	// maxRawColumns bounds the event keys that get a column of their own in
	// table and csv; the keys beyond go to the overflow column, so nothing
	// is dropped, and a hostile event with thousands of keys cannot make
	// the header unbounded.
	maxRawColumns = 64

	// maxChartRows bounds the rows svg buffers (it draws only at End), and
	// through it the points drawn: 50,000 points keep the file under a few
	// megabytes that a browser renders at once.
	maxChartRows = 50_000

	// maxChartKeyBytes bounds the text of distinct group keys svg keeps,
	// as series identities; group keys are event values of any size.
	maxChartKeyBytes = 8 << 20

	// maxSeries is how many series a chart draws, the largest by total of
	// the first value column: more lines than this are unreadable and the
	// palette has this many distinct colours.
	maxSeries = 20

	// maxPanels is how many value columns svg charts, one panel each; a
	// stats stage may have up to 32 aggregates.
	maxPanels = 8

	// maxLabelRunes bounds a legend label or panel title, in runes, so it
	// fits beside the plot; longer ones end in "…".
	maxLabelRunes = 48

	// maxNoteRunes bounds an in-band error message in a chart, in runes.
	maxNoteRunes = 300
)
