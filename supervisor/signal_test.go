package main

import (
	"os"
	"os/signal"
	"syscall"
)

func signalIgnore(s syscall.Signal) { signal.Ignore(s) }

func signalNotify(c chan<- os.Signal, s syscall.Signal) { signal.Notify(c, s) }
