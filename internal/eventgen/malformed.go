package eventgen

import (
	"strconv"
	"time"
)

// Malformed lines are what the supervisor must wrap rather than parse. Each
// is a single line; none is a JSON object with a time_ns.
const (
	badPlain     = iota // startup chatter, crash banners
	badStack            // one line of a Go or Java stack trace
	badTruncated        // a valid event cut short, as by a full pipe buffer
	badSlog             // Go log/slog JSON: RFC 3339 "time", no time_ns
	badZap              // zap JSON: float seconds "ts", no time_ns
)

var badKinds = newWeighted([]uint32{
	badPlain:     25,
	badStack:     30,
	badTruncated: 20,
	badSlog:      15,
	badZap:       10,
})

type plainLine struct {
	stdlog bool // prefixed with the standard log package's date and time
	msg    text
}

var plainLines = []plainLine{
	{false, mkText("Starting server on :%d", 8000, 8099)},
	{true, mkText("WARNING: GOMAXPROCS not set, using %d", 1, 64)},
	{true, mkText("http: TLS handshake error from 10.%d.%d.%d:%d: EOF", 0, 63, 0, 255, 1, 254, 32768, 60999)},
	{false, mkText("panic: runtime error: invalid memory address or nil pointer dereference")},
	{false, mkText("[signal SIGSEGV: segmentation violation code=0x1 addr=0x%x pc=0x%x]", 0, 0xff, 0x400000, 0x4fffff)},
	{false, mkText(`Exception in thread "main" java.lang.IllegalStateException: pool exhausted after %d ms`, 100, 30_000)},
	{true, mkText("config: %d keys unset, using defaults", 1, 12)},
	{false, mkText("Killed")},
}

var stackLines = []text{
	mkText("goroutine %d [running]:", 1, 5_000),
	mkText("main.(*Server).handle(0xc000%x, {0x%x, 0x%x})", 0x100000, 0xffffff, 0xa00000, 0xafffff, 1, 64),
	mkText("\t/src/app/server.go:%d +0x%x", 10, 900, 0x10, 0x4ff),
	mkText("net/http.HandlerFunc.ServeHTTP(0xc000%x, {0x%x, 0xc000%x}, 0xc000%x)", 0x100000, 0xffffff, 0xa00000, 0xafffff, 0x100000, 0xffffff, 0x100000, 0xffffff),
	mkText("\t/usr/local/go/src/net/http/server.go:%d +0x%x", 2_000, 3_400, 0x10, 0x5ff),
	mkText("created by net/http.(*Server).Serve in goroutine %d", 1, 200),
	mkText("\tat com.example.orders.OrderService.create(OrderService.java:%d)", 20, 800),
	mkText("\tat java.base/java.lang.Thread.run(Thread.java:%d)", 800, 1_600),
	mkText("Caused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after %dms.", 1_000, 30_000),
	mkText("\t... %d more", 3, 60),
}

// Upper-case level names for slog, indexed like the lower-case ones.
var slogLevels = map[string]string{"debug": "DEBUG", "info": "INFO", "warn": "WARN", "error": "ERROR"}

func (g *Generator) appendMalformed(dst []byte) []byte {
	r := &g.rnd
	switch badKinds.pick(r) {
	case badPlain:
		p := &plainLines[r.intn(uint64(len(plainLines)))]
		if p.stdlog {
			dst = time.Unix(0, g.t).UTC().AppendFormat(dst, "2006/01/02 15:04:05 ")
		}
		dst = p.msg.append(dst, r)
	case badStack:
		dst = stackLines[r.intn(uint64(len(stackLines)))].append(dst, r)
	case badTruncated:
		start := len(dst)
		dst = g.appendEvent(dst)
		// Keep at least the '{' and never the closing '}', so the prefix
		// cannot parse.
		end := len(dst) - len("}\n")
		dst = dst[:start+1+int(r.intn(uint64(end-start)))]
	case badSlog:
		lt := &logTemplates[logTemplateW.pick(r)]
		dst = append(dst, `{"time":"`...)
		dst = time.Unix(0, g.t).UTC().AppendFormat(dst, time.RFC3339Nano)
		dst = append(dst, `","level":"`...)
		dst = append(dst, slogLevels[lt.level]...)
		dst = append(dst, `","msg":"`...)
		dst = lt.msg.append(dst, r)
		dst = append(dst, `","logger":"`...)
		dst = append(dst, lt.logger...)
		dst = append(dst, `"}`...)
	default:
		lt := &logTemplates[logTemplateW.pick(r)]
		dst = append(dst, `{"level":"`...)
		dst = append(dst, lt.level...)
		dst = append(dst, `","ts":`...)
		dst = strconv.AppendInt(dst, g.t/1e9, 10)
		dst = append(dst, '.')
		us := g.t / 1e3 % 1e6
		for d := int64(1e5); d > 0; d /= 10 { // fixed six digits
			dst = append(dst, byte('0'+us/d%10))
		}
		dst = append(dst, `,"logger":"`...)
		dst = append(dst, lt.logger...)
		dst = append(dst, `","msg":"`...)
		dst = lt.msg.append(dst, r)
		dst = append(dst, `"}`...)
	}
	return append(dst, '\n')
}
