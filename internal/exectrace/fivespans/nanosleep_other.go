//go:build !linux

package fivespans

import "time"

// sleepSyscall sleeps for d; only on Linux is it a blocking system call.
func sleepSyscall(d time.Duration) { time.Sleep(d) }
