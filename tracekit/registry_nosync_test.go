//go:build tracekit_nosync

package tracekit

import "github.com/tracekit-go/tracekit/internal/detect"

// locksTracked says a task blocked on a tracekit lock shows as waiting: with
// tracekit_nosync, locks are plain sync locks and record nothing.
const locksTracked = false

// detectedMutex returns a plain Mutex: there is no detector to report to.
func detectedMutex(*detect.Detector, string) *Mutex { return &Mutex{} }
