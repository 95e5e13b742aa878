//go:build amd64 || arm64

package tracekit

import (
	"sync"
	"sync/atomic"
)

// gword reads the machine word at offset off in the calling goroutine's
// runtime descriptor. Only goid uses it, at an offset goidOffset has
// checked.
func gword(off uintptr) uint64

// gwordAt reads the machine word at offset off in the runtime descriptor at
// address gp (a goroutineKey), which another goroutine may be running on.
// Descriptors are never freed, so the read is safe; it is a racy read of a
// word the runtime writes when it starts a goroutine on the descriptor,
// hidden from the race detector by being in assembly.
func gwordAt(gp, off uintptr) uint64

// goidScan bounds the offsets goidOffset tries: the goroutine ID lies well
// within the first 256 bytes of the descriptor, which is larger than that.
const goidScan = 256

// goidOffset finds where the runtime keeps a goroutine's ID in its
// descriptor, by reading the IDs of a few fresh goroutines from their stack
// traces and keeping the one offset that holds each of them; 0 when no
// offset, or more than one, does (then goid falls back to the stack trace).
var goidOffset = sync.OnceValue(func() uintptr {
	off := findGoidOffset()
	goidOffsetKnown.Store(off)
	return off
})

// goidOffsetKnown is goidOffset's result once it has been computed, else 0:
// a lock's fast path reads it with one inlined load.
var goidOffsetKnown atomic.Uintptr

func findGoidOffset() uintptr {
	var cands map[uintptr]int
	const probes = 3
	for range probes {
		found := make(chan []uintptr)
		go func() {
			id := slowGoid()
			var offs []uintptr
			for off := uintptr(0); off < goidScan; off += 8 {
				if gword(off) == id {
					offs = append(offs, off)
				}
			}
			found <- offs
		}()
		if cands == nil {
			cands = map[uintptr]int{}
		}
		for _, off := range <-found {
			cands[off]++
		}
	}
	var off uintptr
	n := 0
	for o, hits := range cands {
		if hits == probes {
			off, n = o, n+1
		}
	}
	if n != 1 || off == 0 {
		return 0
	}
	return off
}

// goid returns the runtime's ID of the calling goroutine. IDs are never
// reused, unlike descriptors, so lineage records hold them. After the first
// call it costs a load.
func goid() uint64 {
	if off := goidOffset(); off != 0 {
		return gword(off)
	}
	return slowGoid()
}

// fastGoid reports whether goid costs a load rather than a stack trace.
func fastGoid() bool { return goidOffset() != 0 }
