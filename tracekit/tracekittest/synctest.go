package tracekittest

import (
	"bytes"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/tracekit-go/tracekit/internal/gostack"
)

// Synctest runs f in a testing/synctest bubble, as synctest.Test does, with
// a leak check of the bubble when f returns ([VerifyNoLeaks], deferred
// inside the bubble with opts).
//
// synctest.Test panics when goroutines of the bubble are still blocked
// after f returns ("deadlock: main bubble goroutine has exited but blocked
// goroutines remain"), which ends the test binary and can lose the test's
// output, the leak report among it. Synctest turns that panic into a
// failure of t that lists, grouped by stack, the goroutines left in the
// bubble, so the leak report (and a hang reported by [RunWithTimeout]
// inside the bubble) is kept and the other tests still run. The goroutines
// stay blocked for the life of the process (nothing outside the bubble
// may touch its channels); [VerifyTestMain] reports them again at the
// end. Any other panic is passed on.
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
