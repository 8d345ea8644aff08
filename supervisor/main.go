// Supervisor runs one program, captures its output and its own events into
// an append-only chunk log, and serves the log. See README.md.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "supervisor: error: not wired yet")
	os.Exit(2)
}
