//go:build tracekit_nosync

package sdk_test

// suiteLocksTracked: with tracekit_nosync the locks are plain sync locks,
// which no detector sees.
const suiteLocksTracked = false
