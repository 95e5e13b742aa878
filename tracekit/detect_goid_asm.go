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
// plain store under a lock the reader does not hold: a lock's holder
// (lockMeta.holder, a goroutine ID), which hang reports, the lint and
// Snapshot read. An aligned word load is atomic on these architectures, so
// the value is one that was written, perhaps a stale one (the ID of a
// goroutine that has since released the lock, which then names a holder
// that no longer holds it); written in assembly, the read is invisible to
// the race detector, which would otherwise flag this deliberate race.
func loadWord(p *uintptr) uintptr
