package procstat

const (
	// maxFDs bounds how many descriptors Read looks at, so a process with a
	// huge table cannot make sampling unbounded.
	maxFDs = 1 << 16

	// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
	clockTicks = 100
)
