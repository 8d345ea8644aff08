// Package buildpolicy holds the tests that enforce the module's build
// promises: the binaries link only the standard library and xxh3 (with what
// xxh3 itself brings), never the testing package, and every package says
// what it is for.
package buildpolicy
