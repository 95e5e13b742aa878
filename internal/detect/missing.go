package detect

import (
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"github.com/tracekit-go/tracekit/internal/env"
)

// A program run with TRACEKIT_DEADLOCK=1 asks for lock-order detection,
// which only a running Kit does. So that a run where none starts (a test
// suite that never calls sdk.Start, say) does not pass in silence, a
// stand-in detector is installed at start-up in that case: the first lock
// that uses it warns, once, and removes it, and the locks go back to
// recording nothing. A Kit that starts first simply replaces it. The
// stand-in records nothing; its checks sit off the fast paths: the coarse
// clock's first wake-up (any write lock), a read lock without lock-order
// detection, and the start of a blocked wait on a lock or channel.

// pending is the stand-in until it has warned, else nil.
var pending atomic.Pointer[Detector]

func init() {
	if on, ok, err := env.Flag(env.Deadlock); err == nil && ok && on {
		d := newMissing()
		pending.Store(d)
		active.Store(d)
	}
}

// newMissing makes the stand-in: every threshold off, and no clock
// goroutine, whose ticks it would not need.
func newMissing() *Detector {
	return &Detector{missing: true, epoch: time.Now(), holdFloor: math.MaxInt64, wake: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{})}
}

// MissingKitWarning is what the stand-in logs, at WARN level.
const MissingKitWarning = "tracekit: " + env.Deadlock + " asks for lock-order detection, but no Kit is running, so none is done: " +
	"start one with sdk.Start (tracekittest.Detect or tracekittest.Detecting in tests)"

// warnMissing logs MissingKitWarning once and uninstalls the stand-in d.
func (d *Detector) warnMissing() {
	if pending.CompareAndSwap(d, nil) {
		active.CompareAndSwap(d, nil)
		slog.Default().Warn(MissingKitWarning)
	}
}
