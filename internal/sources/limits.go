package sources

const (
	// MaxFileBytes bounds a sources file: thousands of lines fit.
	MaxFileBytes = 1 << 20
	// MaxSources bounds how many sources one store pulls from.
	MaxSources = 4096
	// maxNameLen bounds a source name, which is stored with every event.
	maxNameLen = 64
	// maxErrorText bounds how much of an offending line an error quotes.
	maxErrorText = 60
)
