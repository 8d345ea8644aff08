//go:build race

package main

// raceEnabled scales the load test down: the race detector slows the
// test's own clients by an order of magnitude.
const raceEnabled = true
