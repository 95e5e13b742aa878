//go:build tracekit_nosync

package tracekit

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// With tracekit_nosync the types are sync's, with the extra methods still
// doing what they promise.
func TestNoSync(t *testing.T) {
	var _ *sync.Mutex = &(&Mutex{}).Mutex
	var _ *sync.RWMutex = &(&RWMutex{}).RWMutex
	m := namedMutex("x")
	m.Lock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	// Names are not kept here: the error says where the wait was.
	var we *WaitError
	if err := m.LockContext(ctx); !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &we) || we.Op != "lock" ||
		!strings.HasPrefix(we.Caller, "github.com/tracekit-go/tracekit/tracekit.TestNoSync (tracekit/sync_disabled_test.go:") {
		t.Errorf("LockContext on a held lock = %v", err)
	}
	// Unlocked while LockContext waits, or before it starts: either way
	// the lock comes free.
	go func() { time.Sleep(time.Millisecond); m.Unlock() }()
	if err := m.LockContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	m.Unlock()
	rw := namedRWMutex("y")
	rw.Lock()
	if err := rw.RLockContext(ctx); !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &we) || we.Op != "read lock" {
		t.Errorf("RLockContext on a write-locked lock = %v", err)
	}
	rw.Unlock()
	if err := rw.RLockContext(ctx); err != nil {
		t.Errorf("RLockContext on a free lock = %v", err)
	}
	rw.RUnlock()
}
