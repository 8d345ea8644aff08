// Package capture turns the bytes a program prints into event lines for the
// chunk log, and holds them in a bounded buffer between the program's pipes
// and the disk.
//
// # Line rules (DESIGN section 1 and 2)
//
// A stdout line that is a JSON object, valid UTF-8, with a usable integer
// "time_ns" and no top-level key starting with '_' is kept byte for byte.
// Keys starting with '_' are Stele's own: an object that has one is wrapped,
// so a program cannot forge the supervisor's events. A JSON object without "time_ns" gets one
// inserted right after its opening brace, followed by "_time" naming where
// it came from: a common logger's field ("time" or "ts", which stays as
// printed), or else "received" for the time the line was read. Every other line (not an object, not
// UTF-8, an unusable "time_ns", and every stderr line) is wrapped by package
// event as {"time_ns":<receive time>,"_stream":...,"_line":...}.
//
// A line of up to MaxLineBytes is kept whole. A longer one is cut into
// pieces of at most PieceBytes on UTF-8 boundaries, each wrapped with
// "_part" (1, 2, ...) and "_more":1 on all but the last; the pieces of one
// line are consecutive among the lines of their stream. A partial last line
// (no '\n' before EOF) is kept like any other line.
//
// # Back-pressure policy
//
// Reading a pipe never waits for the disk: lines go into a Buffer of a fixed
// number of bytes. When the Buffer is full the line is dropped and counted,
// and the writer records an "events_dropped" event with the counts as soon as
// it can write again. A program is therefore never blocked by a stalled disk
// for longer than it takes to fill its own pipe once the supervisor stops
// reading, which it does not.
//
// A batch of lines that finds nothing queued and no write under way is
// written by the goroutine that read it (Buffer.SetWriter): on a healthy
// disk each read costs one goroutine and no wake-ups. Should that write
// stall for a whole directStall interval, a watchdog starts another
// goroutine that reads the stream on into the Buffer, exactly as above; the
// stuck goroutine keeps only the batch it is writing, and no line is
// written twice or out of order (the writer waits for the stuck write).
package capture
