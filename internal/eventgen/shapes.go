package eventgen

import "strconv"

// Population sizes. Ids are drawn by Zipf rank and then scattered by an
// affine permutation, so the busiest user is not "u100000" and ids keep a
// fixed width (which keeps line lengths steady).
const (
	numUsers    = 100_000
	numItems    = 50_000
	numProjects = 2_000
)

var (
	users    = newZipf(numUsers, 2)
	items    = newZipf(numItems, 5)
	projects = newZipf(numProjects, 1)
)

// userID maps a popularity rank to a six-digit id; 7919 is prime, so the
// map is a bijection on [0, numUsers).
func userID(rank int) uint64 { return 100_000 + (uint64(rank)*7919+4243)%numUsers }

func itemID(rank int) uint64 { return 10_000 + (uint64(rank)*7907+811)%numItems }

func appendProject(dst []byte, s *source) []byte {
	rank := uint64(projects.pick(s))
	return strconv.AppendUint(dst, 10_000+(rank*7901+97)%numProjects, 10)
}

// appendIP appends a stable private address for a user, so per-client and
// per-user queries agree with each other.
func appendIP(dst []byte, rank int) []byte {
	h := uint32(rank)*2654435761 + 0x9e37
	dst = append(dst, "10."...)
	dst = strconv.AppendUint(dst, uint64(h>>24&0x3f), 10)
	dst = append(dst, '.')
	dst = strconv.AppendUint(dst, uint64(h>>16&0xff), 10)
	dst = append(dst, '.')
	return strconv.AppendUint(dst, uint64(h>>8&0xff|1), 10)
}

// Shapes and their share of the lines that are neither malformed nor gauges
// (gauges follow event time instead; see Generator.gaugeDue).
const (
	shapeRPC = iota
	shapeHTTP
	shapeLog
	shapeAction
	shapeWork
)

var shapes = newWeighted([]uint32{
	shapeRPC:    32,
	shapeHTTP:   22,
	shapeLog:    26,
	shapeAction: 12,
	shapeWork:   8,
})

func (g *Generator) appendEvent(dst []byte) []byte {
	dst = append(dst, `{"time_ns":`...)
	dst = strconv.AppendInt(dst, g.t, 10)
	switch shapes.pick(&g.rnd) {
	case shapeRPC:
		dst = g.appendRPC(dst)
	case shapeHTTP:
		dst = g.appendHTTP(dst)
	case shapeLog:
		dst = g.appendLog(dst)
	case shapeAction:
		dst = g.appendAction(dst)
	default:
		dst = g.appendWork(dst)
	}
	return append(dst, "}\n"...)
}

// ---- RPC results ----

type rpcMethod struct {
	service, method string
	medianUs        uint64 // median latency
	errPermille     uint64 // server errors per thousand calls
}

// rpcMethods is in popularity order; the draw is Zipf over this order.
// A few methods are slow or flaky on purpose, so "which method fails most"
// and "which is slowest at p99" have clear answers.
var rpcMethods = []rpcMethod{
	{"Auth", "VerifyToken", 800, 4},
	{"Catalog", "GetItem", 3_000, 6},
	{"Accounts", "GetAccount", 2_500, 6},
	{"Catalog", "ListItems", 12_000, 8},
	{"Storage", "GetObject", 6_000, 10},
	{"Catalog", "GetPrice", 1_500, 6},
	{"Orders", "GetOrder", 4_000, 8},
	{"Accounts", "UpdateAccount", 15_000, 24},
	{"Catalog", "SearchItems", 45_000, 30},
	{"Auth", "RefreshToken", 2_000, 6},
	{"Storage", "PutObject", 25_000, 16},
	{"Orders", "ListOrders", 18_000, 10},
	{"Auth", "Login", 35_000, 12},
	{"Orders", "CreateOrder", 60_000, 20},
	{"Billing", "GetInvoice", 8_000, 8},
	{"Storage", "ListObjects", 30_000, 12},
	{"Orders", "UpdateOrder", 20_000, 16},
	{"Billing", "ChargeCard", 250_000, 60},
	{"Accounts", "ListAccounts", 22_000, 10},
	{"Auth", "Logout", 3_000, 4},
	{"Billing", "ListInvoices", 28_000, 10},
	{"Storage", "DeleteObject", 9_000, 8},
	{"Catalog", "UpdateItem", 17_000, 14},
	{"Orders", "CancelOrder", 26_000, 18},
	{"Accounts", "CreateAccount", 40_000, 16},
	{"Storage", "CopyObject", 50_000, 20},
	{"Billing", "UpdatePlan", 30_000, 24},
	{"Billing", "RefundPayment", 120_000, 50},
	{"Auth", "ResetPassword", 45_000, 12},
	{"Accounts", "DeleteAccount", 70_000, 30},
}

var rpcPopularity = newZipf(len(rpcMethods), 0)

// Client-side failures: a gRPC code with an empty server_error.
var (
	clientCodes  = []uint64{0, 5, 3, 7, 16, 6} // OK, NOT_FOUND, INVALID_ARGUMENT, PERMISSION_DENIED, UNAUTHENTICATED, ALREADY_EXISTS
	clientCodesW = newWeighted([]uint32{975, 12, 6, 3, 3, 1})
)

// Server errors: code, message, and for deadlines the latency is the
// deadline itself, as a client would see.
const (
	errQuota = iota
	errDeadline
	errUnavailable
	errInternal
)

var serverErrors = newWeighted([]uint32{
	errQuota:       35,
	errDeadline:    30,
	errUnavailable: 20,
	errInternal:    15,
})

var (
	msgUnavailable = []string{
		"upstream unavailable: connection refused",
		"upstream unavailable: no healthy backends",
	}
	msgInternal = []string{
		"internal error: database transaction aborted",
		"internal error: nil pointer dereference",
		"internal error: failed to decode response",
	}
	deadlinesMs = []uint64{1_000, 5_000, 10_000, 30_000}
)

func (g *Generator) appendRPC(dst []byte) []byte {
	r := &g.rnd
	m := &rpcMethods[rpcPopularity.pick(r)]
	dst = append(dst, `,"kind":"rpc","rpc_service":"`...)
	dst = append(dst, m.service...)
	dst = append(dst, `","rpc_method":"`...)
	dst = append(dst, m.method...)

	code := clientCodes[clientCodesW.pick(r)]
	durMs := r.lognormal(m.medianUs, 90) / 1000
	var msg string
	var quota bool
	if r.chance(m.errPermille) {
		switch serverErrors.pick(r) {
		case errQuota:
			code, quota, durMs = 8, true, r.lognormal(1_500, 50)/1000
		case errDeadline:
			code, msg = 4, "deadline exceeded"
			durMs = deadlinesMs[r.intn(uint64(len(deadlinesMs)))] + r.intn(15)
		case errUnavailable:
			code, msg = 14, msgUnavailable[r.intn(uint64(len(msgUnavailable)))]
		default:
			code, msg = 13, msgInternal[r.intn(uint64(len(msgInternal)))]
		}
	}
	dst = append(dst, `","rpc_code":`...)
	dst = strconv.AppendUint(dst, code, 10)
	dst = append(dst, `,"duration_ms":`...)
	dst = strconv.AppendUint(dst, durMs, 10)
	dst = append(dst, `,"server_error":"`...)
	if quota {
		dst = append(dst, "Quota exceeded for project "...)
		dst = appendProject(dst, r)
	} else {
		dst = append(dst, msg...)
	}
	dst = append(dst, `","pii_uid":"u`...)
	dst = strconv.AppendUint(dst, userID(users.pick(r)), 10)
	dst = append(dst, `","request_id":"`...)
	dst = appendHex16(dst, r.pcg.Uint64())
	return append(dst, '"')
}

// ---- HTTP requests ----

const (
	idNone = iota
	idItem
	idUser
	idOrder
	idPage
	idAsset
)

type httpRoute struct {
	method, prefix string
	id             int
	suffix         string
	okStatus       uint64
	medianBytes    uint64
	medianUs       uint64
	notFound       uint64 // 404s per thousand
	agent          string // fixed user agent for machine traffic, else drawn
}

var httpRoutes = []httpRoute{
	{"GET", "/api/v1/items/", idItem, "", 200, 2_400, 9_000, 20, ""},
	{"GET", "/api/v1/items?page=", idPage, "", 200, 18_000, 25_000, 0, ""},
	{"GET", "/api/v1/users/u", idUser, "/orders", 200, 6_000, 30_000, 5, ""},
	{"GET", "/api/v1/orders/", idOrder, "", 200, 1_800, 12_000, 15, ""},
	{"POST", "/api/v1/orders", idNone, "", 201, 900, 80_000, 0, ""},
	{"POST", "/api/v1/cart/items", idNone, "", 201, 400, 15_000, 0, ""},
	{"DELETE", "/api/v1/cart/items/", idItem, "", 204, 0, 10_000, 10, ""},
	{"GET", "/static/app.", idAsset, ".js", 200, 180_000, 2_000, 0, ""},
	{"POST", "/login", idNone, "", 200, 350, 60_000, 0, ""},
	{"GET", "/healthz", idNone, "", 200, 2, 300, 0, "kube-probe/1.31"},
	{"GET", "/metrics", idNone, "", 200, 24_000, 4_000, 0, "Prometheus/2.53.0"},
}

var httpRouteW = newWeighted([]uint32{30, 10, 8, 8, 5, 6, 2, 10, 4, 12, 5})

var (
	userAgents = []string{
		"okhttp/4.12.0",
		"ShopApp/3.2.1 (iOS 17.5)",
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)",
		"Go-http-client/2.0",
		"python-requests/2.32.3",
		"curl/8.8.0",
	}
	serverStatuses = []uint64{500, 502, 503, 503}
	userAgentW     = newWeighted([]uint32{35, 30, 5, 5, 12, 5, 8})
	// assetHashes are the deployed builds' content hashes; few, as in a
	// real rollout.
	assetHashes = []uint64{0x3f9a2c1e, 0x8b04d7aa, 0xc51e9030}
)

func (g *Generator) appendHTTP(dst []byte) []byte {
	r := &g.rnd
	rt := &httpRoutes[httpRouteW.pick(r)]
	user := users.pick(r)
	dst = append(dst, `,"kind":"http","method":"`...)
	dst = append(dst, rt.method...)
	dst = append(dst, `","path":"`...)
	dst = append(dst, rt.prefix...)
	switch rt.id {
	case idItem:
		dst = strconv.AppendUint(dst, itemID(items.pick(r)), 10)
	case idUser:
		dst = strconv.AppendUint(dst, userID(user), 10)
	case idOrder:
		dst = strconv.AppendUint(dst, 1_000_000+r.intn(9_000_000), 10)
	case idPage:
		dst = strconv.AppendUint(dst, 1+r.intn(1+r.intn(40)), 10)
	case idAsset:
		dst = strconv.AppendUint(dst, assetHashes[r.intn(uint64(len(assetHashes)))], 16)
	}
	dst = append(dst, rt.suffix...)

	status, bytes := rt.okStatus, r.lognormal(rt.medianBytes, 80)
	switch p := r.intn(1000); {
	case p < 5:
		status, bytes = serverStatuses[r.intn(uint64(len(serverStatuses)))], 100+r.intn(60)
	case p < 8:
		status, bytes = 429, 80
	case p < 8+rt.notFound:
		status, bytes = 404, 60+r.intn(20)
	case rt.id == idAsset && p < 500:
		status, bytes = 304, 0
	}
	dur := r.lognormal(rt.medianUs, 100) / 1000
	dst = append(dst, `","status":`...)
	dst = strconv.AppendUint(dst, status, 10)
	dst = append(dst, `,"bytes":`...)
	dst = strconv.AppendUint(dst, bytes, 10)
	dst = append(dst, `,"duration_ms":`...)
	dst = strconv.AppendUint(dst, dur, 10)
	dst = append(dst, `,"pii_client_ip":"`...)
	agent := rt.agent
	if agent == "" {
		dst = appendIP(dst, user)
		agent = userAgents[userAgentW.pick(r)]
	} else {
		dst = append(dst, "10.0.0.2"...) // the in-cluster monitor
	}
	dst = append(dst, `","user_agent":"`...)
	dst = append(dst, agent...)
	return append(dst, '"')
}

// ---- log lines ----

type logTemplate struct {
	level, logger string
	msg           text
	email         bool // adds pii_email of some user
}

var logTemplates = []logTemplate{
	{"info", "db.pool", mkText("acquired connection in %d us", 20, 4_000), false},
	{"info", "segment.writer", mkText("flushed %d records to segment %d", 1, 50_000, 1, 9_999), false},
	{"info", "scheduler", mkText("job %d finished in %d ms", 1, 999_999, 1, 90_000), false},
	{"info", "cache", mkText("cache hit ratio %d%% over %d requests", 40, 99, 100, 100_000), false},
	{"info", "auth", mkText("password reset email sent"), true},
	{"info", "http.server", mkText("accepted connection from 10.%d.%d.%d", 0, 63, 0, 255, 1, 254), false},
	{"debug", "gc", mkText("GC pause %d us, heap %d MB", 50, 3_000, 40, 900), false},
	{"debug", "rpc.client", mkText("resolved %d backends for orders", 1, 12), false},
	{"warn", "quota", mkText("Quota exceeded for project %p"), false},
	{"warn", "db", mkText("slow query took %d ms", 500, 12_000), false},
	{"warn", "rpc.client", mkText("retrying request after %d ms (attempt %d)", 10, 2_000, 2, 5), false},
	{"warn", "auth", mkText("failed login attempt"), true},
	{"error", "mailer", mkText("failed to send email: connection refused"), true},
	{"error", "db", mkText("transaction aborted after %d ms: deadlock detected", 5, 3_000), false},
	{"error", "http.server", mkText("panic recovered: index out of range [%d] with length %d", 1, 64, 0, 1), false},
}

var logTemplateW = newWeighted([]uint32{
	22, 15, 12, 8, 3, 10, // info
	10, 6, // debug
	4, 3, 3, 2, // warn
	1, 1, 1, // error: about 3% of log lines
})

func (g *Generator) appendLog(dst []byte) []byte {
	r := &g.rnd
	lt := &logTemplates[logTemplateW.pick(r)]
	dst = append(dst, `,"kind":"log","host":"`...)
	dst = append(dst, hosts[r.intn(uint64(len(hosts)))]...)
	dst = append(dst, `","level":"`...)
	dst = append(dst, lt.level...)
	dst = append(dst, `","logger":"`...)
	dst = append(dst, lt.logger...)
	dst = append(dst, `","message":"`...)
	dst = lt.msg.append(dst, r)
	if lt.email {
		dst = append(dst, `","pii_email":"user`...)
		dst = strconv.AppendUint(dst, userID(users.pick(r)), 10)
		dst = append(dst, "@example.com"...)
	}
	return append(dst, '"')
}

// ---- app actions ----

type action struct {
	name     string
	item     bool   // carries an item_id
	extra    string // name of an extra integer field, if any
	lo, span uint64 // its range
}

var actions = []action{
	{"view_item", true, "", 0, 0},
	{"search", false, "results", 0, 200},
	{"add_to_cart", true, "quantity", 1, 4},
	{"remove_from_cart", true, "", 0, 0},
	{"checkout", false, "total_cents", 500, 50_000},
	{"login", false, "", 0, 0},
	{"logout", false, "", 0, 0},
	{"update_profile", false, "", 0, 0},
	{"favorite_item", true, "", 0, 0},
	{"share_item", true, "", 0, 0},
	{"write_review", true, "rating", 1, 5},
}

var actionW = newWeighted([]uint32{40, 15, 12, 3, 4, 8, 3, 3, 5, 2, 1})

func (g *Generator) appendAction(dst []byte) []byte {
	r := &g.rnd
	a := &actions[actionW.pick(r)]
	user := users.pick(r)
	dst = append(dst, `,"kind":"action","action":"`...)
	dst = append(dst, a.name...)
	dst = append(dst, `","pii_uid":"u`...)
	dst = strconv.AppendUint(dst, userID(user), 10)
	// A session is a user's hour, so session_id groups a user's actions
	// without any per-user state in the generator.
	dst = append(dst, `","session_id":"`...)
	dst = appendHex16(dst, (uint64(user)+1)*0x9e3779b97f4a7c15^uint64(g.t/3.6e12)*0xbf58476d1ce4e5b9)
	dst = append(dst, '"')
	if a.item {
		dst = append(dst, `,"item_id":"i`...)
		dst = strconv.AppendUint(dst, itemID(items.pick(r)), 10)
		dst = append(dst, '"')
	}
	if a.extra != "" {
		dst = append(dst, ',', '"')
		dst = append(dst, a.extra...)
		dst = append(dst, '"', ':')
		dst = strconv.AppendUint(dst, a.lo+r.intn(a.span+1), 10)
	}
	return dst
}

// ---- work items ----

type queue struct {
	name     string
	medianUs uint64
}

var queues = []queue{
	{"email-send", 300_000},
	{"thumbnail", 900_000},
	{"invoice-render", 2_000_000},
	{"search-index", 150_000},
	{"webhook-deliver", 400_000},
	{"export-csv", 8_000_000},
}

var queueW = newWeighted([]uint32{30, 20, 8, 25, 15, 2})

const maxAttempts = 5

var (
	outcomes  = []string{"ok", "retry", "failed", "dropped"}
	outcomesW = newWeighted([]uint32{960, 25, 10, 5})
)

func (g *Generator) appendWork(dst []byte) []byte {
	r := &g.rnd
	q := &queues[queueW.pick(r)]
	dst = append(dst, `,"kind":"work","host":"worker-`...)
	dst = strconv.AppendUint(dst, 1+r.intn(2), 10)
	dst = append(dst, `","queue":"`...)
	dst = append(dst, q.name...)
	dst = append(dst, `","item_id":"j`...)
	dst = strconv.AppendUint(dst, g.nextJob, 10)
	g.nextJob += 1 + r.intn(3) // other consumers take ids in between
	o := outcomesW.pick(r)
	attempts := uint64(1)
	switch {
	case o == 2: // failed: gave up after the last attempt
		attempts = maxAttempts
	case r.chance(40):
		attempts = 2 + r.intn(maxAttempts-2)
	}
	dst = append(dst, `","attempts":`...)
	dst = strconv.AppendUint(dst, attempts, 10)
	dst = append(dst, `,"duration_ms":`...)
	dst = strconv.AppendUint(dst, r.lognormal(q.medianUs, 110)/1000, 10)
	dst = append(dst, `,"outcome":"`...)
	dst = append(dst, outcomes[o]...)
	return append(dst, '"')
}

// ---- gauges ----

// hosts print log lines and report gauges in turn; the first numAPIHosts
// serve requests, the rest run queues.
var hosts = [...]string{"api-1", "api-2", "api-3", "worker-1", "worker-2"}

const numAPIHosts = 3

type gaugeState struct {
	depth, depthBase uint64
	heap, live       uint64 // heap in use and live after the last GC
	goroutines       uint64
}

func newGaugeState(r *source, host int) gaugeState {
	if host >= numAPIHosts { // workers: deep queues, few goroutines
		return gaugeState{depthBase: 400, live: 400<<20 + r.intn(200<<20), goroutines: 40}
	}
	return gaugeState{depthBase: 20, live: 150<<20 + r.intn(100<<20), goroutines: 250 + r.intn(100)}
}

func (g *Generator) appendGauge(dst []byte) []byte {
	r := &g.rnd
	i := g.gaugeHost
	g.gaugeHost = (i + 1) % len(hosts)
	s := &g.gauges[i]
	// Queue depth reverts to its base, with a rare burst.
	s.depth += r.intn(s.depthBase/4 + 1)
	s.depth -= s.depth / 8
	if r.chance(10) {
		s.depth += r.intn(10 * s.depthBase)
	}
	// The heap grows until it doubles its live size (GOGC=100), then a
	// collection brings it back: the familiar sawtooth.
	s.heap += r.intn(s.live / 4)
	if s.heap >= 2*s.live {
		s.live = s.live - s.live/16 + r.intn(s.live/8)
		s.live = min(max(s.live, 64<<20), 900<<20)
		s.heap = s.live + r.intn(s.live/8)
	}
	s.heap = max(s.heap, s.live)
	if i < numAPIHosts {
		s.goroutines = s.goroutines - s.goroutines/10 + r.intn(60)
	} else {
		s.goroutines = 40 + r.intn(30)
	}

	dst = append(dst, `{"time_ns":`...)
	dst = strconv.AppendInt(dst, g.t, 10)
	dst = append(dst, `,"kind":"gauge","host":"`...)
	dst = append(dst, hosts[i]...)
	dst = append(dst, `","queue_depth":`...)
	dst = strconv.AppendUint(dst, s.depth, 10)
	dst = append(dst, `,"heap_bytes":`...)
	dst = strconv.AppendUint(dst, s.heap, 10)
	dst = append(dst, `,"goroutines":`...)
	dst = strconv.AppendUint(dst, s.goroutines, 10)
	return append(dst, "}\n"...)
}
