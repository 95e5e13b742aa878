//go:build !amd64 && !arm64

package goid

// Key identifies the calling goroutine by its ID, read from its stack
// trace. It costs about a microsecond, so tasks do not register themselves
// on these platforms.
func Key() uintptr { return uintptr(Slow()) }

// Fast says [Key] is cheap enough to call on every task start.
const Fast = false

// LoadWord reads *p. Here nothing writes the words it reads (holders are
// recorded only where Key is cheap), so a plain read is safe.
func LoadWord(p *uintptr) uintptr { return *p }

// ID returns the runtime's ID of the calling goroutine, read from its
// stack trace (about a microsecond).
func ID() uint64 { return Slow() }

// Offset is where the goroutine ID lies in the runtime's descriptor;
// without the assembly reader it is never looked for.
func Offset() uintptr { return 0 }

// Current returns 0: IDs are not read cheaply here.
func Current() uint64 { return 0 }

// KeyID returns [Key] and [Current] in one call.
func KeyID() (key uintptr, id uint64) { return Key(), 0 }

// Word and WordAt are never called here: Offset is 0.
func Word(uintptr) uint64 { return 0 }

func WordAt(uintptr, uintptr) uint64 { return 0 }

// FastID reports whether [ID] costs a load rather than a stack trace.
func FastID() bool { return false }

// CallerPC returns 0: without the assembly there is no cheap way to read
// the caller's return address.
func CallerPC() uintptr { return 0 }
