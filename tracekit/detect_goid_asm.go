//go:build amd64 || arm64

package tracekit

// getg returns the address of the calling goroutine's runtime descriptor.
// It identifies the goroutine for as long as it runs (the runtime reuses a
// descriptor only after its goroutine has exited), costs about a
// nanosecond, and is only ever compared, never dereferenced.
func getg() uintptr

// goroutineKey identifies the calling goroutine.
func goroutineKey() uintptr { return getg() }

// fastGoroutineKey says goroutineKey is cheap enough for every task start.
const fastGoroutineKey = true
