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

// loadWord reads the word at p while its writer may be storing to it with a
// plain store under a lock the reader does not hold: a lock's holder key
// and hold start (lockMeta.holder, lockMeta.since), which a hang report or
// the lint reads as a hint. An aligned word load is atomic on these
// architectures, so the value is one that was written, perhaps a stale
// one; written in assembly, the read is invisible to the race detector,
// which would otherwise flag this deliberate race. Callers validate what
// they read.
func loadWord(p *uintptr) uintptr
