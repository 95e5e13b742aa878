package detect

import (
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
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
	for i < n-1 && isSyncPC(pcs[i]) {
		i++
	}
	return append([]uintptr(nil), pcs[i:n]...)
}

// syncPCs caches isSyncPC by return address, so that a contended wait's
// stack is trimmed without looking its frames up: a direct-mapped table
// whose entries are replaced, never freed while read.
var syncPCs [256]atomic.Pointer[pcClass]

type pcClass struct {
	pc   uintptr
	sync bool
}

// syncSlot is where syncPCs caches pc.
func syncSlot(pc uintptr) *atomic.Pointer[pcClass] {
	return &syncPCs[(pc^pc>>8)%uintptr(len(syncPCs))]
}

// isSyncPC reports whether the return address pc is in one of tracekit's
// lock or channel functions (isSyncFrame).
func isSyncPC(pc uintptr) bool {
	slot := syncSlot(pc)
	if c := slot.Load(); c != nil && c.pc == pc {
		return c.sync
	}
	f := runtime.FuncForPC(pc - 1)
	isSync := f != nil && isSyncFrame(f.Name())
	slot.Store(&pcClass{pc: pc, sync: isSync})
	return isSync
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
	for _, p := range []string{"(*Mutex)", "(*RWMutex)", "(*rlocker)", "(*Chan[", "Send[", "Recv[", "send[", "recv[", "sendSlow[", "recvSlow[", "untrackedWait", "waitErr", "waitLock", "lockPoll"} {
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

// userFrame returns the first frame of pcs, inlined calls expanded, that is
// not part of tracekit's locks and channels.
func userFrame(pcs []uintptr) (runtime.Frame, bool) {
	if len(pcs) == 0 {
		return runtime.Frame{}, false
	}
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if f.Function != "" && !isSyncFrame(f.Function) {
			return f, true
		}
		if !more {
			return runtime.Frame{}, false
		}
	}
}

// place says where pcs begin in the user's code, as "dir/file.go:line"
// (the file's directory and name, enough to find it in a repository, short
// enough for a log line), or "" when unknown.
func place(pcs []uintptr) string {
	f, ok := userFrame(pcs)
	if !ok {
		return ""
	}
	return shortFile(f.File) + ":" + strconv.Itoa(f.Line)
}

// shortFile keeps the last directory and the name of a source path.
func shortFile(file string) string {
	i := strings.LastIndexByte(file, '/')
	if i <= 0 {
		return file
	}
	if j := strings.LastIndexByte(file[:i], '/'); j >= 0 {
		return file[j+1:]
	}
	return file
}

// CallerSite says where the calling goroutine is in the user's code, as
// "function (dir/file.go:line)", for an error about an unnamed lock or
// channel; "" when no frame is the user's.
func CallerSite() string {
	f, ok := userFrame(callers(1))
	if !ok {
		return ""
	}
	return f.Function + " (" + shortFile(f.File) + ":" + strconv.Itoa(f.Line) + ")"
}

// isStdFunc reports whether fn is in the standard library: its import
// path's first element has no dot, and it is not package main.
func isStdFunc(fn string) bool {
	first, _, _ := strings.Cut(fn, "/")
	if !strings.Contains(fn, "/") {
		first, _, _ = strings.Cut(fn, ".")
	}
	return !strings.Contains(first, ".") && first != "main"
}
