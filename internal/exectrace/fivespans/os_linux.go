package fivespans

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
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

// threadCPU returns the calling thread's ID and the CPU time it has used,
// and whether they could be read.
func threadCPU() (tid int, cpu time.Duration, ok bool) {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0, 0, false
	}
	return unix.Gettid(), time.Duration(ts.Nano()), true
}
