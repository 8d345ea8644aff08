// Package procstat reads a process's resource use from /proc: resident
// memory, CPU time, threads, open files and sockets.
package procstat

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Usage is one sample of a process's resource use.
type Usage struct {
	RSSBytes  int64
	CPUMillis int64 // user + system time
	Threads   int64
	OpenFiles int64
	Sockets   int64
}

var errStat = errors.New("procstat: malformed /proc/PID/stat")

// Read samples process pid.
func Read(pid int) (Usage, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Usage{}, err
	}
	u, err := parseStat(stat, int64(os.Getpagesize()))
	if err != nil {
		return Usage{}, err
	}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	d, err := os.Open(dir)
	if err != nil {
		return u, nil // fds are not readable for other users' processes
	}
	names, _ := d.Readdirnames(maxFDs)
	d.Close()
	u.OpenFiles = int64(len(names))
	for _, n := range names {
		if target, err := os.Readlink(dir + "/" + n); err == nil && strings.HasPrefix(target, "socket:") {
			u.Sockets++
		}
	}
	return u, nil
}

// parseStat reads utime, stime, num_threads and rss from /proc/PID/stat.
// The command name (field 2) may hold spaces and parentheses, so fields are
// counted from the last ')'.
func parseStat(b []byte, pageSize int64) (Usage, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Usage{}, errStat
	}
	f := strings.Fields(string(b[i+1:]))
	// After the name: state is field 3, so field n is f[n-3].
	const utime, stime, threads, rss = 14, 15, 20, 24
	if len(f) < rss-2 {
		return Usage{}, errStat
	}
	get := func(n int) (int64, error) { return strconv.ParseInt(f[n-3], 10, 64) }
	ut, err1 := get(utime)
	st, err2 := get(stime)
	th, err3 := get(threads)
	rs, err4 := get(rss)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return Usage{}, fmt.Errorf("%w: %v", errStat, err)
	}
	return Usage{
		RSSBytes:  rs * pageSize,
		CPUMillis: (ut + st) * 1000 / clockTicks,
		Threads:   th,
	}, nil
}
