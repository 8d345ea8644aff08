// Store pulls events from supervisors, keeps them in columnar segments and
// answers queries. See README.md.
//
// Certificates, as the supervisor's (see internal/mtls):
//
//	store gencert -name NAME -out PREFIX [-host h1,h2] [-days N]
//	store fingerprint FILE.crt
//
// Subcommands for auditing and using the columnar format:
//
//	store shred                        JSON events on stdin → one JSON line per column
//	store assemble                     column lines on stdin → JSON events
//	store pack -o FILE                 JSON events on stdin → segment file
//	store unpack FILE [-fields a,b.c]  segment file → JSON events
//	store inspect FILE                 segment file → its layout, as text
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"stele/internal/mtls"
)

const usage = `usage:
  store -dir DIR -sources FILE -tls-cert FILE -tls-key FILE -listen ADDR -allow FILE [flags]
                                     run the store (store -h lists the flags)
  store export -dir DIR [-since T] [-until T]
                                     every stored event as JSON lines (the store must be stopped)
  store gencert -name NAME -out PREFIX [-host h1,h2] [-days N] [-key p256|ed25519]
                                     a key (0600) and a self-signed certificate; prints its fingerprint
  store fingerprint FILE.crt         the SHA-256 fingerprint of a certificate
  store shred                        JSON events on stdin; one JSON line per column on stdout
  store assemble                     column lines on stdin; JSON events on stdout
  store pack -o FILE                 JSON events on stdin; a segment file
  store unpack FILE [-fields a,b.c]  a segment file; JSON events on stdout
  store inspect FILE                 a segment file; its blocks, columns, encodings and sizes
`

// usageError is a command-line mistake: exit status 2 and the usage text.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "gencert":
			os.Exit(mtls.Gencert("store", os.Args[2:], os.Stdout, os.Stderr))
		case "fingerprint":
			os.Exit(mtls.PrintFingerprint("store", os.Args[2:], os.Stdout, os.Stderr))
		}
	}
	var err error
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "-") && !isHelp(os.Args[1]) {
		err = serve(os.Args[1:], os.Stderr)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
	} else {
		err = run(os.Args[1:], os.Stdin, os.Stdout)
	}
	var ue *usageError
	switch {
	case err == nil:
	case errors.As(err, &ue):
		fmt.Fprintf(os.Stderr, "store: error: %v\n%s", err, usage)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "store: error: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return usagef("no subcommand")
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("store "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	switch cmd {
	case "shred":
		if err := parse(fs, args, 0); err != nil {
			return err
		}
		return shred(stdin, stdout)
	case "assemble":
		if err := parse(fs, args, 0); err != nil {
			return err
		}
		return assemble(stdin, stdout)
	case "pack":
		out := fs.String("o", "", "segment file to write")
		if err := parse(fs, args, 0); err != nil {
			return err
		}
		if *out == "" {
			return usagef("pack needs -o FILE")
		}
		return pack(stdin, *out)
	case "unpack":
		fields := fs.String("fields", "", "comma-separated column names or prefixes to keep")
		if err := parse(fs, args, 1); err != nil {
			return err
		}
		return unpack(fs.Arg(0), *fields, stdout)
	case "inspect":
		if err := parse(fs, args, 1); err != nil {
			return err
		}
		return inspect(fs.Arg(0), stdout)
	case "export":
		dir := fs.String("dir", "", "the store's directory")
		since := fs.String("since", "", "only events at or after this time (90s, 2h, 7d, RFC 3339, ns)")
		until := fs.String("until", "", "only events before this time")
		if err := parse(fs, args, 0); err != nil {
			return err
		}
		if *dir == "" {
			return usagef("export needs -dir DIR")
		}
		return export(*dir, *since, *until, stdout)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usagef("unknown subcommand %q", cmd)
}

func isHelp(s string) bool { return s == "-h" || s == "-help" || s == "--help" }

// parse parses flags that may come before or after the npos positional
// arguments ("store unpack FILE -fields a" and "store unpack -fields a FILE").
func parse(fs *flag.FlagSet, args []string, npos int) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return usagef("%v", err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != npos {
		return usagef("%s takes %d argument(s), got %d", fs.Name(), npos, len(pos))
	}
	return fs.Parse(append([]string{"--"}, pos...))
}
