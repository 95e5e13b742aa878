//go:build !amd64 && !arm64

package tracekit

import "sync/atomic"

// goid returns the runtime's ID of the calling goroutine, read from its
// stack trace (about a microsecond).
func goid() uint64 { return slowGoid() }

// goidOffset is where the goroutine ID lies in the runtime's descriptor;
// without the assembly reader it is never looked for.
func goidOffset() uintptr { return 0 }

// goidOffsetKnown is always 0 here.
var goidOffsetKnown atomic.Uintptr

// gword and gwordAt are never called here: goidOffset is 0.
func gword(uintptr) uint64 { return 0 }

func gwordAt(uintptr, uintptr) uint64 { return 0 }

// fastGoid reports whether goid costs a load rather than a stack trace.
func fastGoid() bool { return false }
