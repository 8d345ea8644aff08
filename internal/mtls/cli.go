package mtls

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// Gencert is the "gencert" subcommand of both binaries:
//
//	PROG gencert -name NAME -out PREFIX [-host h1,h2] [-days N] [-key p256|ed25519]
//
// It writes PREFIX.key (0600) and PREFIX.crt and prints the certificate's
// fingerprint. It returns the process exit status.
func Gencert(prog string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(prog+" gencert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o CertOptions
	var out, hosts string
	fs.StringVar(&o.Name, "name", "", "the certificate's name: a host name or address of this machine (required)")
	fs.StringVar(&out, "out", "", "write PREFIX.crt and PREFIX.key (required; existing files are never overwritten)")
	fs.StringVar(&hosts, "host", "", "further host names or addresses, comma separated (localhost and 127.0.0.1 are always included)")
	fs.IntVar(&o.Days, "days", 365, "validity in days")
	fs.StringVar(&o.KeyType, "key", KeyECDSAP256, "key type: "+KeyECDSAP256+" or "+KeyEd25519)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.Name == "" || out == "" || fs.NArg() != 0 {
		fmt.Fprintf(stderr, "%s: error: usage: %s gencert -name NAME -out PREFIX [-host h1,h2] [-days N]\n", prog, prog)
		return 2
	}
	if hosts != "" {
		o.Hosts = strings.Split(hosts, ",")
	}
	fp, err := WriteCert(out, o)
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: %v\n", prog, err)
		return 1
	}
	fmt.Fprintln(stdout, fp)
	return 0
}

// PrintFingerprint is the "fingerprint" subcommand of both binaries: it
// prints the SHA-256 fingerprint of the certificate in each file given.
func PrintFingerprint(prog string, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "%s: error: usage: %s fingerprint FILE.crt\n", prog, prog)
		return 2
	}
	status := 0
	for _, path := range args {
		fp, err := FingerprintFile(path)
		if err != nil {
			fmt.Fprintf(stderr, "%s: error: %v\n", prog, err)
			status = 1
			continue
		}
		if len(args) > 1 {
			fmt.Fprintf(stdout, "%s  %s\n", fp, path)
		} else {
			fmt.Fprintln(stdout, fp)
		}
	}
	return status
}
