//go:build unix

package tracekit

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time the process has used, user and system,
// every thread's.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
