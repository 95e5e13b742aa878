//go:build !tracekit_nosync

package console

// locksTracked says a task blocked on a tracekit lock shows as waiting.
const locksTracked = true
