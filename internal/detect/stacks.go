package detect

import (
	"runtime"
	"strings"
)

// Callers captures the stack of the calling goroutine, skipping skip frames
// above the caller of Callers and then tracekit's own lock and channel
// frames, so that the stack starts in the user's code.
func Callers(skip int) []uintptr { return callers(skip + 1) }

// callers is Callers for this package.
func callers(skip int) []uintptr {
	var pcs [stackDepth]uintptr
	n := runtime.Callers(skip+2, pcs[:])
	i := 0
	for ; i < n-1; i++ {
		f := runtime.FuncForPC(pcs[i] - 1)
		if f == nil || !isSyncFrame(f.Name()) {
			break
		}
	}
	return append([]uintptr(nil), pcs[i:n]...)
}

// stackDepth bounds every captured stack.
const stackDepth = 32

// callerFunc names the first function on the stack, skip frames above the
// caller of callerFunc, that is not part of tracekit's locks and channels,
// for labelling unnamed ones.
func callerFunc(skip int) string {
	var pcs [16]uintptr
	n := runtime.Callers(skip+2, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if !isSyncFrame(f.Function) || !more {
			return f.Function
		}
	}
}

// CallerFunc names the first function on the calling goroutine's stack
// that is not part of tracekit's locks and channels: an unnamed channel
// is named after it.
func CallerFunc() string { return callerFunc(1) }

// isSyncFrame reports whether fn is one of tracekit's lock or channel
// functions (which a user's stack has between its own code and the
// runtime): anything in this package, and the lock and channel functions
// of package tracekit.
func isSyncFrame(fn string) bool {
	if strings.HasPrefix(fn, "github.com/tracekit-go/tracekit/internal/detect.") {
		return true
	}
	rest, ok := strings.CutPrefix(fn, "github.com/tracekit-go/tracekit/tracekit.")
	if !ok {
		return false
	}
	for _, p := range []string{"(*Mutex)", "(*RWMutex)", "(*rlocker)", "(*Chan[", "Send[", "Recv[", "send[", "recv[", "sendSlow[", "recvSlow[", "untrackedWait"} {
		if strings.HasPrefix(rest, p) {
			return true
		}
	}
	return false
}

// AllGoroutines dumps every goroutine's stack, up to 1 MiB.
func AllGoroutines() []byte {
	const maxDump = 1 << 20
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) || len(buf) >= maxDump {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}
