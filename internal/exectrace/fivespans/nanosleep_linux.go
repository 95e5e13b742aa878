package fivespans

import (
	"syscall"
	"time"
)

// sleepSyscall blocks the thread in the nanosleep system call for d.
func sleepSyscall(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for {
		var rem syscall.Timespec
		if err := syscall.Nanosleep(&ts, &rem); err != syscall.EINTR {
			return
		}
		ts = rem
	}
}
