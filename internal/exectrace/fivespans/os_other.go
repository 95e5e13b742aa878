//go:build !linux

package fivespans

import "time"

// sleepSyscall sleeps for d; only on Linux is it a blocking system call.
func sleepSyscall(d time.Duration) { time.Sleep(d) }

// threadCPU reports that the thread's CPU time cannot be read here.
func threadCPU() (tid int, cpu time.Duration, ok bool) { return 0, 0, false }
