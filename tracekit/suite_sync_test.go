//go:build !tracekit_nosync

package tracekit_test

// suiteLocksTracked: tracekit's locks are instrumented in this build.
const suiteLocksTracked = true
