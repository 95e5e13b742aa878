// Package testname tells which test a goroutine's code belongs to, for leak
// reports that name the test that leaked.
package testname

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

var on atomic.Bool

// Enable turns on [Note]: from then on, goroutines that begin a chain of
// tasks are looked up once for the test they run. The test helpers call it
// before any test runs; outside test binaries it stays off and costs one
// atomic load per chain.
func Enable() { on.Store(true) }

// Enabled reports whether [Enable] was called; callers check it before
// [Note] so that the disabled path is one inlined load.
func Enabled() bool { return on.Load() }

// origins maps a goroutine ID to the test it ran, for goroutines that began
// a chain of tasks inside a test. IDs are never reused, and entries are
// added only for goroutines whose stack held a test function, so it holds
// at most a few per test.
var origins sync.Map // uint64 → string

// Note records, if enabled and not yet known, the test the calling
// goroutine (whose ID is g) runs, read from its stack. skip is the number
// of frames above the test helpers' callers to leave out, as for
// runtime.Callers.
func Note(g uint64, skip int) {
	if !on.Load() || g == 0 {
		return
	}
	if _, ok := origins.Load(g); ok {
		return
	}
	var pcs [64]uintptr
	frames := runtime.CallersFrames(pcs[:runtime.Callers(skip+1, pcs[:])])
	for {
		f, more := frames.Next()
		if name := FromFunc(f.Function); name != "" {
			origins.Store(g, name)
			return
		}
		if !more {
			return
		}
	}
}

// Of returns the test goroutine g was found running by [Note], or "".
func Of(g uint64) string {
	if v, ok := origins.Load(g); ok {
		return v.(string)
	}
	return ""
}

// FromFunc returns the test, benchmark, fuzz test or example that the
// fully qualified function fn is, or is a closure of: "TestServe" for
// "example.com/pkg.TestServe.func1.2" or "example.com/pkg_test.TestServe".
// It returns "" for anything else, methods included. The names follow the
// go test rule: the prefix alone, or followed by a character that is not a
// lower-case letter.
func FromFunc(fn string) string {
	// The package path may contain dots; the function starts after the
	// first dot following the last slash.
	rest := fn[strings.LastIndexByte(fn, '/')+1:]
	dot := strings.IndexByte(rest, '.')
	if dot < 0 {
		return ""
	}
	name := rest[dot+1:]
	if i := strings.IndexByte(name, '.'); i >= 0 {
		name = name[:i]
	}
	for _, prefix := range [...]string{"Test", "Benchmark", "Fuzz", "Example"} {
		tail, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		if tail == "" {
			return name
		}
		r, _ := utf8.DecodeRuneInString(tail)
		if !unicode.IsLower(r) && isIdent(tail) {
			return name
		}
	}
	return ""
}

// isIdent reports whether s is made of identifier characters only.
func isIdent(s string) bool {
	for _, r := range s {
		if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}
