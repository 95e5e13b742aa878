//go:build amd64 || arm64

package goid

import (
	"sync"
	"sync/atomic"
)

// getg returns the address of the calling goroutine's runtime descriptor.
func getg() uintptr

// Key identifies the calling goroutine: the address of its runtime
// descriptor. It is unique among running goroutines (the runtime reuses a
// descriptor only after its goroutine has exited), costs about a
// nanosecond, and is only ever compared, never dereferenced.
func Key() uintptr { return getg() }

// Fast says [Key] is cheap enough to call on every task start.
const Fast = true

// LoadWord reads the word at p while its writer may be storing to it with a
// plain store under a lock the reader does not hold (a lock's holder
// goroutine ID). An aligned word load is atomic on these architectures, so
// the value is one that was written, perhaps a stale one; written in
// assembly, the deliberate race is invisible to the race detector.
func LoadWord(p *uintptr) uintptr

// Word reads the machine word at offset off in the calling goroutine's
// runtime descriptor, at an offset [Offset] has checked.
func Word(off uintptr) uint64

// WordAt reads the machine word at offset off in the runtime descriptor at
// address gp (a [Key]), which another goroutine may be running on.
// Descriptors are never freed, so the read is safe; it is a racy read of a
// word the runtime writes when it starts a goroutine on the descriptor,
// hidden from the race detector by being in assembly.
func WordAt(gp, off uintptr) uint64

// CallerPC returns the return address of the function that calls it: a
// place in that function's caller, for runtime.CallersFrames, in about a
// nanosecond where runtime.Callers takes hundreds. It reads the caller's
// frame pointer, so the caller must have a frame (a function that makes
// calls and keeps values across them does) and must not be inlined.
func CallerPC() uintptr

// scan bounds the offsets Offset tries: the goroutine ID lies well within
// the first 256 bytes of the descriptor, which is larger than that.
const scan = 256

// Offset finds where the runtime keeps a goroutine's ID in its descriptor,
// by reading the IDs of a few fresh goroutines from their stack traces and
// keeping the one offset that holds each of them; 0 when no offset, or more
// than one, does (then [ID] falls back to the stack trace).
var Offset = sync.OnceValue(func() uintptr {
	off := findOffset()
	known.Store(off)
	return off
})

// known is Offset's result once it has been computed, else 0.
var known atomic.Uintptr

// Current returns the calling goroutine's ID once [Offset] has been
// computed, else 0: a load and a call with no frame, for a lock's fast path.
func Current() uint64 {
	if off := known.Load(); off != 0 {
		return Word(off)
	}
	return 0
}

// KeyID returns [Key] and [Current] in one call.
func KeyID() (key uintptr, id uint64) { return keyWord(known.Load()) }

// keyWord returns the calling goroutine's descriptor address and the word
// at offset off in it, or 0 for off 0.
func keyWord(off uintptr) (key uintptr, w uint64)

func findOffset() uintptr {
	var cands map[uintptr]int
	const probes = 3
	for range probes {
		found := make(chan []uintptr)
		go func() {
			id := Slow()
			var offs []uintptr
			for off := uintptr(0); off < scan; off += 8 {
				if Word(off) == id {
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

// ID returns the runtime's ID of the calling goroutine. IDs are never
// reused, unlike descriptors. After the first call it costs a load.
func ID() uint64 {
	if off := Offset(); off != 0 {
		return Word(off)
	}
	return Slow()
}

// FastID reports whether [ID] costs a load rather than a stack trace.
func FastID() bool { return Offset() != 0 }
