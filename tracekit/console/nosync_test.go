//go:build tracekit_nosync

package console

// locksTracked says a task blocked on a tracekit lock shows as waiting: with
// tracekit_nosync, locks are plain sync locks and record nothing.
const locksTracked = false
