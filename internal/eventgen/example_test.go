package eventgen_test

import (
	"fmt"

	"stele/internal/eventgen"
)

// Example prints the start of the stream for one seed; any machine
// prints the same.
func Example() {
	g := eventgen.New(eventgen.Config{Seed: 42})
	var buf []byte
	for range 4 {
		buf = g.Append(buf[:0])
		fmt.Print(string(buf))
	}
	// Output:
	// {"time_ns":1767225600001898404,"kind":"http","method":"GET","path":"/static/app.c51e9030.js","status":304,"bytes":0,"duration_ms":1,"pii_client_ip":"10.12.98.217","user_agent":"curl/8.8.0"}
	// {"time_ns":1767225600002311597,"kind":"rpc","rpc_service":"Billing","rpc_method":"UpdatePlan","rpc_code":0,"duration_ms":11,"server_error":"","pii_uid":"u102322","request_id":"1e0545fd517c1691"}
	// {"time_ns":1767225600003973411,"kind":"log","host":"api-3","level":"info","logger":"scheduler","message":"job 84340 finished in 4080 ms"}
	// {"time_ns":1767225600004393829,"kind":"rpc","rpc_service":"Auth","rpc_method":"VerifyToken","rpc_code":14,"duration_ms":1,"server_error":"upstream unavailable: no healthy backends","pii_uid":"u151757","request_id":"b8c6b320299f8698"}
}
