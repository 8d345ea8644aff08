package query

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"stele/internal/jsonscan"
	"stele/internal/timespec"
)

// Stages lists the stage keywords in the order error messages give them.
var Stages = []string{"since", "until", "where", "stats", "sort", "limit", "fields", "follow"}

// reserved words cannot start a field name unquoted.
var reserved = map[string]bool{
	"and": true, "or": true, "not": true, "in": true, "contains": true, "exists": true,
	"by": true, "every": true, "as": true, "asc": true, "desc": true,
}

// Row stages must come in this order (limit and fields share a rank: they
// commute). since, until and follow have no rank.
const (
	rankWhere = 1 + iota
	rankStats
	rankAfter
	rankSort
	rankLimitFields
)

type parser struct {
	lx  lexer
	tok token
	q   *Query

	stages     int    // stage lines so far
	rank       int    // highest row-stage rank so far
	rankName   string // the stage that set rank
	rankLine   int
	depth      int // open parentheses and nots
	conds      int // leaf conditions so far
	regexInsts int // compiled regex instructions so far
}

// Parse parses query text. The Query is nil exactly when the error is not,
// and the error is then a *SyntaxError. An empty query (or one of comments)
// is valid: the newest 100 events.
func Parse(text string) (*Query, error) {
	if len(text) > MaxQueryBytes {
		return nil, &SyntaxError{Line: 1, Col: 1, Msg: fmt.Sprintf("the query is %d bytes; the limit is %d", len(text), MaxQueryBytes)}
	}
	p := &parser{q: &Query{Limit: -1}}
	for lineNo, rest := 1, text; ; lineNo++ {
		line, more, found := strings.Cut(rest, "\n")
		line = strings.TrimSuffix(line, "\r")
		if !utf8.ValidString(line) {
			bad := 0
			for bad < len(line) {
				r, size := utf8.DecodeRuneInString(line[bad:])
				if r == utf8.RuneError && size == 1 {
					break
				}
				bad += size
			}
			p.lx = lexer{line: line, lineNo: lineNo}
			return nil, p.lx.errAt(bad, "the query is not valid UTF-8")
		}
		if err := p.parseLine(line, lineNo); err != nil {
			return nil, err
		}
		if !found {
			break
		}
		rest = more
	}
	return p.q, nil
}

func (p *parser) next() *SyntaxError {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) pos() Pos { return p.lx.pos(p.tok.off) }

func (p *parser) errorf(format string, args ...any) *SyntaxError {
	return ErrorAt(p.pos(), format, args...)
}

// desc describes the current token for a message.
func (p *parser) desc() string { return describe(p.tok) }

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of line"
	case tString:
		return "string " + Quote(t.val)
	}
	return Quote(t.text)
}

func (p *parser) isKeyword(kw string) bool { return p.tok.kind == tIdent && p.tok.text == kw }

func (p *parser) isPunct(s string) bool { return p.tok.kind == tPunct && p.tok.text == s }

// upperKeyword returns kw if the current token is kw in another case.
func (p *parser) upperKeyword(kws ...string) (string, bool) {
	if p.tok.kind != tIdent {
		return "", false
	}
	for _, kw := range kws {
		if p.tok.text != kw && strings.EqualFold(p.tok.text, kw) {
			return kw, true
		}
	}
	return "", false
}

func (p *parser) parseLine(line string, lineNo int) *SyntaxError {
	p.lx = lexer{line: line, lineNo: lineNo}
	if err := p.next(); err != nil {
		return err
	}
	if p.tok.kind == tEOF {
		return nil
	}
	stageList := strings.Join(Stages, ", ")
	if p.tok.kind != tIdent {
		return p.errorf("want a stage (%s), got %s", stageList, p.desc())
	}
	kw := p.tok.text
	if !slices.Contains(Stages, kw) {
		if lower := strings.ToLower(kw); slices.Contains(Stages, lower) {
			return p.errorf("unknown stage %s; stages are lower case: %s", Quote(kw), lower)
		}
		if s, ok := nearest(kw, Stages); ok {
			return p.errorf("unknown stage %s; did you mean %s? stages: %s", Quote(kw), s, stageList)
		}
		return p.errorf("unknown stage %s; stages: %s", Quote(kw), stageList)
	}
	p.stages++
	if p.stages > maxStages {
		return p.errorf("more than %d stages", maxStages)
	}
	q, stagePos := p.q, p.pos()
	if err := p.checkOnce(kw, lineNo); err != nil {
		return err
	}
	switch kw {
	case "since", "until":
		return p.parseTimeStage(kw, stagePos)
	case "follow":
		if q.Stats != nil {
			return p.errorf("follow cannot be combined with stats (line %d): follow streams raw events as they arrive", q.Lines.Stats)
		}
		if len(q.Sort) > 0 {
			return p.errorf("follow cannot be combined with sort (line %d): followed events arrive in time order", q.Lines.Sort)
		}
		q.Follow, q.Lines.Follow = true, lineNo
		if err := p.next(); err != nil {
			return err
		}
		return p.endStage(kw)
	}

	rank := map[string]int{"where": rankWhere, "stats": rankStats, "sort": rankSort, "limit": rankLimitFields, "fields": rankLimitFields}[kw]
	if kw == "where" && q.Stats != nil {
		rank = rankAfter
	}
	if rank < p.rank {
		return p.errorf("%s must come before %s (line %d): rows flow through where, stats, where, sort, then limit and fields", kw, p.rankName, p.rankLine)
	}
	p.rank, p.rankName, p.rankLine = rank, kw, lineNo
	if err := p.next(); err != nil {
		return err
	}
	switch kw {
	case "where":
		return p.parseWhere()
	case "stats":
		if q.Follow {
			return ErrorAt(stagePos, "stats cannot be combined with follow (line %d): follow streams raw events as they arrive", q.Lines.Follow)
		}
		q.Lines.Stats = lineNo
		return p.parseStats(stagePos)
	case "sort":
		if q.Follow {
			return ErrorAt(stagePos, "sort cannot be combined with follow (line %d): followed events arrive in time order", q.Lines.Follow)
		}
		q.Lines.Sort = lineNo
		return p.parseSort()
	case "limit":
		q.Lines.Limit = lineNo
		return p.parseLimit()
	case "fields":
		q.Lines.Fields = lineNo
		return p.parseFields()
	}
	panic("query: internal error: stage " + kw + " has no parser")
}

// checkOnce refuses a second stage of a kind that may appear once.
func (p *parser) checkOnce(kw string, lineNo int) *SyntaxError {
	l := &p.q.Lines
	first := map[string]*int{
		"since": &l.Since, "until": &l.Until, "stats": &l.Stats, "sort": &l.Sort,
		"limit": &l.Limit, "fields": &l.Fields, "follow": &l.Follow,
	}[kw]
	if first != nil && *first != 0 {
		return p.errorf("a second %s stage; the first is on line %d", kw, *first)
	}
	return nil
}

// endStage refuses anything after a complete stage.
func (p *parser) endStage(kw string) *SyntaxError {
	if p.tok.kind == tEOF {
		return nil
	}
	return p.errorf("unexpected %s after the %s stage", p.desc(), kw)
}

const timeHint = "want a duration back from now (90s, 15m, 2h, 7d), an RFC 3339 time (2026-01-02T15:04:05Z) or integer ns"

// parseTimeStage reads since or until: the rest of the line is one word,
// read raw because RFC 3339 times are not tokens of the language.
func (p *parser) parseTimeStage(kw string, stagePos Pos) *SyntaxError {
	lx := &p.lx
	rest := lx.line[lx.off:]
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	start := lx.off + len(rest) - len(strings.TrimLeft(rest, " \t"))
	word := strings.TrimLeft(rest, " \t")
	word = strings.TrimRight(word, " \t")
	if word == "" {
		return lx.errAt(start, "missing time after %s; %s", kw, timeHint)
	}
	if i := strings.IndexAny(word, " \t"); i >= 0 {
		extra := strings.TrimLeft(word[i:], " \t")
		return lx.errAt(start+len(word)-len(extra), "unexpected %s after the %s stage", Quote(extra), kw)
	}
	pos := lx.pos(start)
	ns, err := timespec.Parse(word, time.Unix(0, 0))
	if err != nil {
		return ErrorAt(pos, "bad time %s; %s", Quote(word), timeHint)
	}
	b := &TimeBound{Text: word, NS: ns, Pos: pos}
	if d, ok := timespec.Duration(word); ok {
		b.NS, b.Ago = 0, d
	}
	q := p.q
	if kw == "since" {
		q.Since, q.Lines.Since = b, p.lx.lineNo
	} else {
		q.Until, q.Lines.Until = b, p.lx.lineNo
	}
	if s, u := q.Since, q.Until; s != nil && u != nil {
		// Only bounds of one kind compare without knowing "now".
		empty := s.Ago == 0 && u.Ago == 0 && s.NS >= u.NS || s.Ago > 0 && u.Ago > 0 && s.Ago <= u.Ago
		if empty {
			return ErrorAt(pos, "since %s is not before until %s: the range is empty", s.Text, u.Text)
		}
	}
	return nil
}

func (p *parser) parseWhere() *SyntaxError {
	if p.tok.kind == tEOF {
		return p.errorf("missing condition after where, e.g. where status >= 500")
	}
	c, err := p.parseOr()
	if err != nil {
		return err
	}
	if err := p.endCond(); err != nil {
		return err
	}
	q := p.q
	if q.Stats == nil {
		q.Where = append(q.Where, c)
		return nil
	}
	var bad *SyntaxError
	Walk(c, func(c Cond) {
		if f, ok := leafField(c); ok && bad == nil {
			bad = p.checkOutput(f)
		}
	})
	if bad != nil {
		return bad
	}
	q.After = append(q.After, c)
	return nil
}

// endCond explains what went wrong when a condition is followed by more.
func (p *parser) endCond() *SyntaxError {
	switch {
	case p.tok.kind == tEOF:
		return nil
	case p.isPunct(")"):
		return p.errorf("unmatched )")
	case p.isPunct("&&"):
		return p.errorf("use and, not &&")
	case p.isPunct("||"):
		return p.errorf("use or, not ||")
	}
	if kw, ok := p.upperKeyword("and", "or"); ok {
		return p.errorf("keywords are lower case: %s", kw)
	}
	return p.errorf("unexpected %s after a condition; join conditions with and, or", p.desc())
}

func leafField(c Cond) (Field, bool) {
	switch c := c.(type) {
	case *Cmp:
		return c.Field, true
	case *Contains:
		return c.Field, true
	case *Match:
		return c.Field, true
	case *In:
		return c.Field, true
	case *Exists:
		return c.Field, true
	}
	return Field{}, false
}

// checkOutput refuses a field that the stats stage does not produce.
func (p *parser) checkOutput(f Field) *SyntaxError {
	outs := p.q.Stats.Outputs()
	for _, o := range outs {
		if slices.Equal(o.Path, f.Path) {
			return nil
		}
	}
	names := make([]string, len(outs))
	for i, o := range outs {
		names[i] = o.String()
	}
	return ErrorAt(f.Pos, "%s is not a stats output; after stats, rows have: %s", Quote(f.String()), strings.Join(names, ", "))
}

func (p *parser) parseOr() (Cond, *SyntaxError) {
	c, err := p.parseAnd()
	if err != nil || !p.isKeyword("or") {
		return c, err
	}
	list := appendOr(nil, c)
	for p.isKeyword("or") {
		if err := p.next(); err != nil {
			return nil, err
		}
		d, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		list = appendOr(list, d)
	}
	return &Or{Conds: list}, nil
}

func (p *parser) parseAnd() (Cond, *SyntaxError) {
	c, err := p.parseUnary()
	if err != nil || !p.isKeyword("and") {
		return c, err
	}
	list := appendAnd(nil, c)
	for p.isKeyword("and") {
		if err := p.next(); err != nil {
			return nil, err
		}
		d, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		list = appendAnd(list, d)
	}
	return &And{Conds: list}, nil
}

// appendOr appends c to the elements of an Or, or c's own elements if it is
// an Or (from parentheses): (a or b) or c is a or b or c.
func appendOr(list []Cond, c Cond) []Cond {
	if o, ok := c.(*Or); ok {
		return append(list, o.Conds...)
	}
	return append(list, c)
}

// appendAnd is appendOr for And.
func appendAnd(list []Cond, c Cond) []Cond {
	if a, ok := c.(*And); ok {
		return append(list, a.Conds...)
	}
	return append(list, c)
}

func (p *parser) enter() *SyntaxError {
	p.depth++
	if p.depth > maxDepth {
		return p.errorf("conditions nest deeper than %d parentheses and nots", maxDepth)
	}
	return nil
}

func (p *parser) parseUnary() (Cond, *SyntaxError) {
	if !p.isKeyword("not") {
		return p.parsePrimary()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	if err := p.next(); err != nil {
		return nil, err
	}
	c, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	p.depth--
	return &Not{Cond: c}, nil
}

func (p *parser) parsePrimary() (Cond, *SyntaxError) {
	switch {
	case p.isPunct("("):
		open := p.pos()
		if err := p.enter(); err != nil {
			return nil, err
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		c, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if !p.isPunct(")") {
			if p.tok.kind == tEOF {
				return nil, p.errorf("missing ) to close the ( at column %d", open.Col)
			}
			return nil, p.endCond()
		}
		p.depth--
		return c, p.next()
	case p.isKeyword("exists"):
		if err := p.countCond(); err != nil {
			return nil, err
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		f, err := p.parseField("exists")
		if err != nil {
			return nil, err
		}
		return &Exists{Field: f}, nil
	case p.isPunct("!"):
		return nil, p.errorf("use not, not !")
	case p.tok.kind == tEOF:
		return nil, p.errorf("missing condition at the end of the line")
	}
	if kw, ok := p.upperKeyword("not", "exists"); ok {
		return nil, p.errorf("keywords are lower case: %s", kw)
	}
	if p.tok.kind != tIdent && p.tok.kind != tQuoted {
		return nil, p.errorf("want a condition such as status >= 500, got %s", p.desc())
	}
	if err := p.countCond(); err != nil {
		return nil, err
	}
	f, err := p.parseField("")
	if err != nil {
		return nil, err
	}
	return p.parseTest(f)
}

func (p *parser) countCond() *SyntaxError {
	p.conds++
	if p.conds > maxConds {
		return p.errorf("more than %d conditions in the query", maxConds)
	}
	return nil
}

var ops = map[string]Op{"=": Eq, "!=": Ne, "<": Lt, "<=": Le, ">": Gt, ">=": Ge}

const opList = "=, !=, <, <=, >, >=, contains, ~, in"

// parseTest reads what follows the field of a leaf condition.
func (p *parser) parseTest(f Field) (Cond, *SyntaxError) {
	t := p.tok
	if t.kind == tPunct {
		if op, ok := ops[t.text]; ok {
			if err := p.next(); err != nil {
				return nil, err
			}
			v, err := p.parseValue(t.text)
			if err != nil {
				return nil, err
			}
			return &Cmp{Field: f, Op: op, Value: v}, nil
		}
		switch t.text {
		case "~":
			return p.parseMatch(f)
		case "==":
			return nil, p.errorf("use = to compare, not ==")
		case "=~":
			return nil, p.errorf("use ~ for a regular expression match, not =~")
		case "!":
			return nil, p.errorf("use != to compare, or not before a condition")
		}
	}
	switch {
	case p.isKeyword("contains"):
		if err := p.next(); err != nil {
			return nil, err
		}
		v, err := p.parseString("contains")
		if err != nil {
			return nil, err
		}
		return &Contains{Field: f, Value: v}, nil
	case p.isKeyword("in"):
		return p.parseIn(f)
	case t.kind == tEOF:
		return nil, p.errorf("missing operator after %s; want one of %s", Quote(f.String()), opList)
	}
	if kw, ok := p.upperKeyword("contains", "in"); ok {
		return nil, p.errorf("keywords are lower case: %s", kw)
	}
	return nil, p.errorf("want an operator (%s) after %s, got %s", opList, Quote(f.String()), p.desc())
}

func (p *parser) parseMatch(f Field) (Cond, *SyntaxError) {
	if err := p.next(); err != nil {
		return nil, err
	}
	v, err := p.parseString("~")
	if err != nil {
		return nil, err
	}
	if len(v.Str) > maxRegexBytes {
		return nil, ErrorAt(v.Pos, "the regular expression is %d bytes; the limit is %d", len(v.Str), maxRegexBytes)
	}
	re, perr := syntax.Parse(v.Str, syntax.Perl)
	if perr != nil {
		var se *syntax.Error
		if errors.As(perr, &se) {
			return nil, ErrorAt(v.Pos, "bad regular expression: %s: %s", se.Code, Quote(se.Expr))
		}
		return nil, ErrorAt(v.Pos, "bad regular expression")
	}
	// Repeats expand when simplified and compiled: bound the expansion
	// before it is made, then count what it made.
	if p.regexInsts+regexOverhead+regexSize(re, maxRegexInsts+1) > maxRegexInsts {
		return nil, ErrorAt(v.Pos, "regular expressions too large: more than %d instructions compiled; simplify the pattern or its repeats", maxRegexInsts)
	}
	prog, perr := syntax.Compile(re.Simplify())
	if perr != nil {
		return nil, ErrorAt(v.Pos, "bad regular expression")
	}
	p.regexInsts += len(prog.Inst)
	if p.regexInsts > maxRegexInsts {
		return nil, ErrorAt(v.Pos, "regular expressions too large: more than %d instructions compiled; simplify the pattern or its repeats", maxRegexInsts)
	}
	rx, perr := regexp.Compile(v.Str)
	if perr != nil {
		return nil, ErrorAt(v.Pos, "bad regular expression")
	}
	return &Match{Field: f, Pattern: v, Re: rx}, nil
}

// regexOverhead is what every compiled program has besides its pattern:
// the capture of the whole match, the match and the failure instructions.
const regexOverhead = 3

// regexSize estimates from above the instructions re compiles to, saturating
// at limit so no repeat nesting can overflow it.
func regexSize(re *syntax.Regexp, limit int) int {
	n := 1
	switch re.Op {
	case syntax.OpLiteral:
		n = max(len(re.Rune), 1)
	case syntax.OpCapture, syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		n = 2 + regexSize(re.Sub[0], limit)
	case syntax.OpRepeat:
		copies := max(re.Min, re.Max) + 1
		n = min(copies*(regexSize(re.Sub[0], limit)+1), limit)
	case syntax.OpConcat, syntax.OpAlternate:
		for _, sub := range re.Sub {
			n = min(n+1+regexSize(sub, limit), limit)
		}
	}
	return min(n, limit)
}

func (p *parser) parseIn(f Field) (Cond, *SyntaxError) {
	if err := p.next(); err != nil {
		return nil, err
	}
	if !p.isPunct("(") {
		return nil, p.errorf(`in needs a list in parentheses, e.g. in ("a", "b")`)
	}
	c := &In{Field: f}
	for {
		if err := p.next(); err != nil {
			return nil, err
		}
		if len(c.Values) == maxInValues {
			return nil, p.errorf("more than %d values in one in list", maxInValues)
		}
		after := "("
		if len(c.Values) > 0 {
			after = ","
		}
		if p.isPunct(")") {
			return nil, p.errorf("missing value after %s; in lists hold JSON strings or numbers", Quote(after))
		}
		v, err := p.parseValue(after)
		if err != nil {
			return nil, err
		}
		c.Values = append(c.Values, v)
		if p.isPunct(")") {
			return c, p.next()
		}
		if !p.isPunct(",") {
			if p.tok.kind == tEOF {
				return nil, p.errorf("missing ) at the end of the in list")
			}
			return nil, p.errorf("want , or ) in the in list, got %s", p.desc())
		}
	}
}

// parseValue reads a JSON string or number after the token named after.
func (p *parser) parseValue(after string) (Value, *SyntaxError) {
	t, pos := p.tok, p.pos()
	switch t.kind {
	case tString:
		return Value{Kind: String, Str: t.val, Pos: pos}, p.next()
	case tWord:
		v, err := parseNumber(t.text)
		if err != "" {
			return Value{}, p.errorf("%s", err)
		}
		v.Pos = pos
		return v, p.next()
	case tEOF:
		return Value{}, p.errorf("missing value after %s; want a JSON string or number", Quote(after))
	case tIdent:
		switch t.text {
		case "true", "false", "null":
			return Value{}, p.errorf("%s is not a value here; values are JSON strings or numbers", t.text)
		}
		return Value{}, p.errorf(`want a JSON string or number after %s, got %s; quote strings: "%s"`, Quote(after), p.desc(), strings.Trim(Quote(t.text), `"`))
	}
	return Value{}, p.errorf("want a JSON string or number after %s, got %s", Quote(after), p.desc())
}

// parseNumber reads a JSON number, or says what is wrong with it.
func parseNumber(s string) (Value, string) {
	if !jsonscan.IsNumber(s) {
		return Value{}, fmt.Sprintf("bad number %s; numbers are JSON numbers such as 42, -1.5, 2e9", Quote(s))
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && (math.IsInf(f, 0) || !errors.Is(err, strconv.ErrRange)) {
		return Value{}, fmt.Sprintf("number %s is out of range", Quote(s))
	}
	v := Value{Kind: Number, Text: s, Float: f}
	if !strings.ContainsAny(s, ".eE") {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			v.Int, v.IsInt = n, true
		}
	}
	return v, ""
}

func (p *parser) parseString(after string) (Value, *SyntaxError) {
	if p.tok.kind != tString && p.tok.kind != tEOF {
		return Value{}, p.errorf("%s needs a JSON string, got %s", after, p.desc())
	}
	return p.parseValue(after)
}

// parseField reads a field name; after names the keyword before it, if
// the name is required there.
func (p *parser) parseField(after string) (Field, *SyntaxError) {
	f := Field{Pos: p.pos()}
	switch {
	case p.tok.kind == tIdent && reserved[p.tok.text]:
		return f, p.errorf("%s is a keyword; write a field of that name in backquotes: `%s`", p.tok.text, p.tok.text)
	case p.tok.kind == tIdent:
		f.Path = append(f.Path, p.tok.text)
	case p.tok.kind == tQuoted:
		f.Path = append(f.Path, p.tok.val)
	case p.tok.kind == tEOF:
		return f, p.errorf("missing field name after %s", after)
	default:
		return f, p.errorf("want a field name (a.b, or `any name` in backquotes), got %s", p.desc())
	}
	for {
		end := p.tok.end()
		if err := p.next(); err != nil {
			return f, err
		}
		if !p.isPunct(".") || p.tok.off != end {
			return f, nil
		}
		dot := p.tok.end()
		if err := p.next(); err != nil {
			return f, err
		}
		if p.tok.off != dot || p.tok.kind != tIdent && p.tok.kind != tQuoted {
			return f, p.errorf("want a name after . in %s", Quote(f.String()+"."))
		}
		if len(f.Path) == maxPathSegments {
			return f, p.errorf("field names nest at most %d deep", maxPathSegments)
		}
		if p.tok.kind == tQuoted {
			f.Path = append(f.Path, p.tok.val)
		} else {
			f.Path = append(f.Path, p.tok.text)
		}
	}
}

func (p *parser) parseStats(stagePos Pos) *SyntaxError {
	s := &Stats{Pos: stagePos}
	for {
		if len(s.Aggs) == maxAggs {
			return p.errorf("more than %d aggregates", maxAggs)
		}
		a, err := p.parseAgg()
		if err != nil {
			return err
		}
		s.Aggs = append(s.Aggs, a)
		if !p.isPunct(",") {
			break
		}
		if err := p.next(); err != nil {
			return err
		}
	}
	seen := map[string]Pos{}
	if p.isKeyword("by") {
		for {
			if err := p.next(); err != nil {
				return err
			}
			if len(s.By) == maxBy {
				return p.errorf("more than %d by fields", maxBy)
			}
			f, err := p.parseField("by")
			if err != nil {
				return err
			}
			if _, dup := seen[pathKey(f.Path)]; dup {
				return ErrorAt(f.Pos, "by lists %s twice", Quote(f.String()))
			}
			seen[pathKey(f.Path)] = f.Pos
			s.By = append(s.By, f)
			if !p.isPunct(",") {
				break
			}
		}
	}
	if p.isKeyword("every") {
		if err := p.next(); err != nil {
			return err
		}
		d, err := p.parseEvery()
		if err != nil {
			return err
		}
		s.Every = d
		if p.isKeyword("by") {
			return p.errorf("write by before every")
		}
	}
	if s.Every > 0 {
		if _, dup := seen["time_ns"]; dup {
			return ErrorAt(seen["time_ns"], "by time_ns with every: the bucket start is time_ns already")
		}
		seen["time_ns"] = s.Pos
	}
	for _, a := range s.Aggs {
		if _, dup := seen[pathKey([]string{a.Name})]; dup {
			return ErrorAt(a.Pos, "two stats outputs named %s; name this one with as NAME", Quote(a.Name))
		}
		seen[pathKey([]string{a.Name})] = a.Pos
	}
	if err := checkNesting(s); err != nil {
		return err
	}
	if p.tok.kind != tEOF {
		if kw, ok := p.upperKeyword("by", "every", "as"); ok {
			return p.errorf("keywords are lower case: %s", kw)
		}
		return p.errorf("unexpected %s in stats; want , and another aggregate, by F or every D", p.desc())
	}
	p.q.Stats = s
	return nil
}

// checkNesting refuses outputs where one is inside another (by a, a.b; or
// by a.b with an aggregate named a): a row could not hold both.
func checkNesting(s *Stats) *SyntaxError {
	type output struct {
		f   Field
		agg bool
	}
	var outs []output
	if s.Every > 0 {
		outs = append(outs, output{f: Field{Path: []string{"time_ns"}, Pos: s.Pos}})
	}
	for _, f := range s.By {
		outs = append(outs, output{f: f})
	}
	for _, a := range s.Aggs {
		outs = append(outs, output{f: Field{Path: []string{a.Name}, Pos: a.Pos}, agg: true})
	}
	for i, a := range outs {
		for _, b := range outs[:i] {
			short, long := a.f, b.f
			if len(short.Path) > len(long.Path) {
				short, long = long, short
			}
			if len(short.Path) == len(long.Path) || !slices.Equal(short.Path, long.Path[:len(short.Path)]) {
				continue
			}
			hint := "group by one of them"
			if a.agg || b.agg {
				hint = "rename the aggregate with as NAME"
			}
			return ErrorAt(a.f.Pos, "stats outputs %s and %s overlap: a row cannot hold both; %s", Quote(short.String()), Quote(long.String()), hint)
		}
	}
	return nil
}

func pathKey(path []string) string { return strings.Join(path, "\x00") }

const everyHint = "e.g. every 30s, 5m, 1h, 1d"

func (p *parser) parseEvery() (time.Duration, *SyntaxError) {
	if p.tok.kind == tEOF {
		return 0, p.errorf("missing duration after every; %s", everyHint)
	}
	d, ok := timespec.Duration(p.tok.text)
	if p.tok.kind != tWord || !ok {
		return 0, p.errorf("bad duration %s after every; %s", Quote(p.tok.text), everyHint)
	}
	if d < MinEvery {
		return 0, p.errorf("every %s is too fine; buckets are at least %s", p.tok.text, MinEvery)
	}
	return d, p.next()
}

func (p *parser) parseAgg() (Agg, *SyntaxError) {
	a := Agg{Pos: p.pos()}
	funcList := strings.Join(Funcs, ", ")
	switch {
	case p.tok.kind == tEOF:
		return a, p.errorf("missing aggregate; e.g. stats count, p99(duration_ms) by rpc_method")
	case p.isKeyword("by") || p.isKeyword("every"):
		return a, p.errorf("stats needs an aggregate before %s, e.g. stats count %s ...", p.tok.text, p.tok.text)
	case p.tok.kind != tIdent:
		return a, p.errorf("want an aggregate (%s), got %s", funcList, p.desc())
	}
	fn := p.tok.text
	if !slices.Contains(Funcs, fn) {
		if lower := strings.ToLower(fn); slices.Contains(Funcs, lower) {
			return a, p.errorf("unknown function %s; functions are lower case: %s", Quote(fn), lower)
		}
		return a, p.errorf("unknown function %s; known: %s", Quote(fn), funcList)
	}
	a.Func = fn
	if err := p.next(); err != nil {
		return a, err
	}
	if p.isPunct("(") {
		if err := p.next(); err != nil {
			return a, err
		}
		if p.isPunct("*") && fn == "count" {
			return a, p.errorf("count(*) is written count")
		}
		if p.isPunct(")") {
			return a, p.errorf("%s needs a field: %s(F)", fn, fn)
		}
		f, err := p.parseField(fn + "(")
		if err != nil {
			return a, err
		}
		if !p.isPunct(")") {
			return a, p.errorf("missing ) after %s", Quote(fn+"("+f.String()))
		}
		a.Field = &f
		if err := p.next(); err != nil {
			return a, err
		}
	} else if fn != "count" {
		return a, p.errorf("%s needs a field in parentheses: %s(F)", fn, fn)
	}
	a.Name = DefaultName(fn, a.Field)
	if !p.isKeyword("as") {
		return a, nil
	}
	if err := p.next(); err != nil {
		return a, err
	}
	switch {
	case p.tok.kind == tIdent && !reserved[p.tok.text]:
		a.Name = p.tok.text
	case p.tok.kind == tQuoted:
		a.Name = p.tok.val
	case p.tok.kind == tEOF:
		return a, p.errorf("missing name after as")
	default:
		return a, p.errorf("want an output name after as (a name, or `any name` in backquotes), got %s", p.desc())
	}
	end := p.tok.end()
	if err := p.next(); err != nil {
		return a, err
	}
	if p.isPunct(".") && p.tok.off == end {
		return a, p.errorf("an output name is one name, without dots; use backquotes for a dot: `a.b`")
	}
	return a, nil
}

func (p *parser) parseSort() *SyntaxError {
	for {
		if len(p.q.Sort) == maxSortKeys {
			return p.errorf("more than %d sort keys", maxSortKeys)
		}
		f, err := p.parseField("sort")
		if err != nil {
			return err
		}
		if p.q.Stats != nil {
			if err := p.checkOutput(f); err != nil {
				return err
			}
		}
		k := SortKey{Field: f}
		switch {
		case p.isKeyword("desc"):
			k.Desc = true
			fallthrough
		case p.isKeyword("asc"):
			if err := p.next(); err != nil {
				return err
			}
		}
		if kw, ok := p.upperKeyword("asc", "desc"); ok {
			return p.errorf("keywords are lower case: %s", kw)
		}
		p.q.Sort = append(p.q.Sort, k)
		if !p.isPunct(",") {
			break
		}
		if err := p.next(); err != nil {
			return err
		}
	}
	if p.tok.kind == tIdent || p.tok.kind == tQuoted {
		return p.errorf("unexpected %s in sort; separate keys with commas, and give each asc or desc", p.desc())
	}
	return p.endStage("sort")
}

func (p *parser) parseLimit() *SyntaxError {
	t := p.tok
	if t.kind == tEOF {
		return p.errorf("missing number after limit, e.g. limit 20")
	}
	n, err := strconv.Atoi(t.text)
	if t.kind != tWord || strings.TrimLeft(t.text, "0123456789") != "" || err != nil && !errors.Is(err, strconv.ErrRange) {
		return p.errorf("limit needs a whole number, e.g. limit 20; got %s", p.desc())
	}
	if err != nil || n < 1 || n > MaxLimit {
		return p.errorf("limit must be between 1 and %d", MaxLimit)
	}
	p.q.Limit = n
	if err := p.next(); err != nil {
		return err
	}
	return p.endStage("limit")
}

func (p *parser) parseFields() *SyntaxError {
	seen := map[string]bool{}
	for {
		if len(p.q.Fields) == maxFields {
			return p.errorf("more than %d fields", maxFields)
		}
		f, err := p.parseField("fields")
		if err != nil {
			return err
		}
		if seen[pathKey(f.Path)] {
			return ErrorAt(f.Pos, "fields lists %s twice", Quote(f.String()))
		}
		seen[pathKey(f.Path)] = true
		if p.q.Stats != nil {
			if err := p.checkOutput(f); err != nil {
				return err
			}
		}
		p.q.Fields = append(p.q.Fields, f)
		if !p.isPunct(",") {
			break
		}
		if err := p.next(); err != nil {
			return err
		}
	}
	if p.tok.kind == tIdent || p.tok.kind == tQuoted {
		return p.errorf("unexpected %s in fields; separate fields with commas", p.desc())
	}
	return p.endStage("fields")
}

// nearest returns the candidate closest to s by edit distance, if it is
// close enough to be a likely typo.
func nearest(s string, candidates []string) (string, bool) {
	if len(s) > 20 {
		return "", false
	}
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best, best != ""
}

// editDistance is the Levenshtein distance of two short ASCII strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
