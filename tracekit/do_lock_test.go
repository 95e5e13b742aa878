//go:build !tracekit_nosync

package tracekit

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// On a goroutine tracekit did not start, a plain Lock inside Do waits
// under the task's span, and a hang report found there carries the task's
// trace and names a bound holder as a task; the registry shows the waiter
// waiting, held by the holder.
func TestDoLockWaitJoinsTask(t *testing.T) {
	if !goid.Fast || !goid.FastID() {
		t.Skip("goroutine IDs cannot be read cheaply on this platform")
	}
	// Real time, not a synctest bubble: a plain Lock waits in sync's own
	// queue, which a bubble does not count as durably blocked.
	rec := newRecorder(t)
	d, r := testDetector(detect.Config{Slow: 10 * time.Millisecond, Hang: 100 * time.Millisecond}, nil)
	defer d.Close()
	m := pinned(d, "ledger")
	ctx, root := rec.root(context.Background())
	held, release := make(chan struct{}), make(chan struct{})
	holderDone := make(chan error)
	go func() { // like net/http's goroutine for one request
		holderDone <- Do(ctx, "POST /close", func(context.Context) error {
			holdAlone(m, held, release)
			return nil
		})
	}()
	<-held
	waiterDone := make(chan error)
	var waiterID, holderID uint64
	go func() {
		waiterDone <- Do(ctx, "GET /balance", func(context.Context) error {
			m.Lock() // no context: the task on this goroutine is found
			m.Unlock()
			return nil
		})
	}()
	waitFor(t, "the second request waiting on the first", func(ts []inspect.Task) bool {
		holderID, waiterID = 0, 0
		for _, ti := range ts {
			switch {
			case ti.Name == "POST /close":
				holderID = ti.ID
			case ti.Name == "GET /balance" && ti.WaitingOn == `lock "ledger"` && ti.HeldBy != 0:
				waiterID = ti.ID
			}
		}
		return holderID != 0 && waiterID != 0
	})
	if !testwait.For(time.Minute, func() bool { return len(r.All()) > 0 }) {
		t.Fatal("no hang report")
	}
	close(release)
	if err := <-holderDone; err != nil {
		t.Fatal(err)
	}
	if err := <-waiterDone; err != nil {
		t.Fatal(err)
	}
	root.End()

	wait := rec.span("lock.wait ledger")
	task := rec.span("GET /balance")
	if wait.Parent().SpanID() != task.SpanContext().SpanID() {
		t.Errorf("lock.wait's parent = %s, want the task's span %s", wait.Parent().SpanID(), task.SpanContext().SpanID())
	}
	reps := r.All()
	if len(reps) != 1 || reps[0].Kind != inspect.KindHang {
		t.Fatalf("reports = %v, want one hang", reps)
	}
	rep := reps[0]
	if rep.SpanContext.SpanID() != task.SpanContext().SpanID() || rep.SpanContext.TraceID() != root.SpanContext().TraceID() {
		t.Errorf("report's span %s in trace %s, want the waiting task's %s", rep.SpanContext.SpanID(), rep.SpanContext.TraceID(), task.SpanContext().SpanID())
	}
	if len(rep.Tasks) != 1 || rep.Tasks[0].ID != holderID || rep.Tasks[0].TraceID != root.SpanContext().TraceID() ||
		!strings.Contains(rep.Message, fmt.Sprintf(`held by task %d "POST /close"`, holderID)) ||
		!strings.Contains(rep.Tasks[0].Stack, "holdAlone") {
		t.Errorf("report does not name the holding request with its trace and stack:\n%s", rep)
	}
}
