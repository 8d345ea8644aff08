package mtls

const (
	// MaxAllowFileBytes bounds an allow file: ten thousand PEM certificates
	// fit with room to spare, and a wrong path (a log, a disk image) fails
	// fast instead of being read whole.
	MaxAllowFileBytes = 16 << 20

	// MaxAllowEntries bounds the entries of an allow file, so lookups and
	// memory stay small whatever the file holds.
	MaxAllowEntries = 10_000

	// maxPEMBytes bounds one PEM block of an allow file; real certificates
	// are a few KiB.
	maxPEMBytes = 64 << 10

	// maxCertFileBytes bounds a certificate or key file read by this package.
	maxCertFileBytes = 1 << 20

	// maxCertDays bounds -days of gencert: about 30 years, beyond which
	// NotAfter encodings and operators' memories both get unreliable.
	maxCertDays = 11_000

	// maxHosts bounds the extra names of a generated certificate.
	maxHosts = 100

	// maxErrorText bounds how much of an offending line an error quotes.
	maxErrorText = 40
)
