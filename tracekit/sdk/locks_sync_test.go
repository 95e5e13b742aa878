//go:build !tracekit_nosync

package sdk

// locksTracked: tracekit's locks are instrumented in this build.
const locksTracked = true
