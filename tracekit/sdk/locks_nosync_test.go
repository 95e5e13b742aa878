//go:build tracekit_nosync

package sdk

// locksTracked: with tracekit_nosync the locks are plain sync locks, which
// no detector sees.
const locksTracked = false
