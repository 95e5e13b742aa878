//go:build !amd64 && !arm64

package tracekit

import (
	"bytes"
	"runtime"
	"strconv"
)

// goroutineKey identifies the calling goroutine by its id, read from the
// first line of its stack trace ("goroutine 18 [running]:"). It costs about
// a microsecond, so tasks do not register themselves on these platforms.
func goroutineKey() uintptr {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b, _ = bytes.CutPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	n, _ := strconv.ParseUint(string(b), 10, 64)
	return uintptr(n)
}

const fastGoroutineKey = false

// loadWord reads *p. Here nothing writes the words it reads (holders are
// recorded only where goroutineKey is cheap), so a plain read is safe.
func loadWord(p *uintptr) uintptr { return *p }
