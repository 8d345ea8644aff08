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
	// {"time_ns":1767225600000000000,"kind":"work","host":"worker-2","queue":"thumbnail","item_id":"j3085185","attempts":1,"duration_ms":164,"outcome":"ok"}
	// {"time_ns":1767225600001773743,"kind":"work","host":"worker-1","queue":"email-send","item_id":"j3085186","attempts":1,"duration_ms":120,"outcome":"ok"}
	// {"time_ns":1767225600003594218,"kind":"rpc","rpc_service":"Storage","rpc_method":"ListObjects","rpc_code":0,"duration_ms":15,"server_error":"","pii_uid":"u128000","request_id":"0b9abb7a5bcea108"}
	// {"time_ns":1767225600004014636,"kind":"rpc","rpc_service":"Auth","rpc_method":"VerifyToken","rpc_code":14,"duration_ms":1,"server_error":"upstream unavailable: no healthy backends","pii_uid":"u151757","request_id":"b8c6b320299f8698"}
}
