package tracekittest

import (
	"bytes"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/tracekit-go/tracekit/internal/gostack"
)

// Synctest runs f in a testing/synctest bubble, as synctest.Test does,
// with [VerifyNoLeaks] (opts) deferred inside it, and turns the panic
// synctest.Test makes when goroutines stay blocked after f returns into a
// failure of t that lists them, so the report is kept and the other tests
// still run.
func Synctest(t *testing.T, f func(*testing.T), opts ...Option) {
	t.Helper()
	var bubble atomic.Uint64
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		err, ok := r.(error)
		if !ok || !strings.HasPrefix(err.Error(), "deadlock: ") {
			panic(r)
		}
		t.Errorf("tracekittest: goroutines remained blocked in the synctest bubble after the test (synctest.Test: %v); they stay blocked for the life of the process:\n\n%s",
			err, bubbleDump(bubble.Load()))
	}()
	synctest.Test(t, func(t *testing.T) {
		bubble.Store(bubbleOf())
		defer VerifyNoLeaks(t, opts...)
		f(t)
	})
}

// bubbleDump returns the goroutines of bubble grouped by stack.
func bubbleDump(bubble uint64) string {
	gs, err := gostack.Snapshot()
	if err != nil {
		return err.Error()
	}
	var in []gostack.Goroutine
	for _, g := range gs {
		if bubble != 0 && g.Bubble == bubble {
			in = append(in, g)
		}
	}
	var buf bytes.Buffer
	_ = gostack.Write(&buf, gostack.GroupByStack(in))
	return buf.String()
}
