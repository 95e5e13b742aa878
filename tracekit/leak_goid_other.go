//go:build !amd64 && !arm64

package tracekit

// goid returns the runtime's ID of the calling goroutine, read from its
// stack trace (about a microsecond).
func goid() uint64 { return slowGoid() }
