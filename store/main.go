// Store pulls events from supervisors, keeps them in columnar segments and
// answers queries. See README.md.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "store: error: no subcommand yet; see README.md")
	os.Exit(2)
}
