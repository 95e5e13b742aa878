package tracekit

import (
	"context"
	"fmt"

	"github.com/tracekit-go/tracekit/internal/detect"
)

// WaitError is the error of a lock or channel wait that its context ended
// first ([Mutex.LockContext], [RWMutex.RLockContext], [Send], [Chan.Recv],
// ...): it says what was waited for and wraps the context's error and
// cause, so errors.Is(err, context.DeadlineExceeded) holds.
type WaitError struct {
	// Op is what was waited for: "lock", "read lock", "send on" or
	// "receive from".
	Op string
	// Name is the lock's or channel's name; "" when it has none, and then
	// Caller says where the wait was: "main.handle (server/main.go:42)".
	Name   string
	Caller string
	// Err is ctx.Err(); Cause is context.Cause(ctx) when it says more.
	Err   error
	Cause error
}

// Error says what was waited for and why it ended:
// `tracekit: lock "orders": context deadline exceeded`.
func (e *WaitError) Error() string {
	what := fmt.Sprintf("%s %q", e.Op, e.Name)
	if e.Name == "" {
		what = e.Op + " (unnamed)"
		if e.Caller != "" {
			what += " in " + e.Caller
		}
	}
	if e.Cause != nil {
		return fmt.Sprintf("tracekit: %s: %v (cause: %v)", what, e.Err, e.Cause)
	}
	return fmt.Sprintf("tracekit: %s: %v", what, e.Err)
}

// Unwrap returns Err and, when set, Cause.
func (e *WaitError) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Err, e.Cause}
	}
	return []error{e.Err}
}

// waitErr is the error of a wait for op on name that ctx ended; for an
// unnamed lock or channel it looks up the caller.
func waitErr(ctx context.Context, op, name string) error {
	e := &WaitError{Op: op, Name: name, Err: ctx.Err()}
	if cause := context.Cause(ctx); cause != nil && cause != e.Err {
		e.Cause = cause
	}
	if name == "" {
		e.Caller = detect.CallerSite()
	}
	return e
}
