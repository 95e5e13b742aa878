//go:build !tracekit_nosync

package sdk_test

// suiteLocksTracked: tracekit's locks are instrumented in this build.
const suiteLocksTracked = true
