package fivespans

import (
	"syscall"
	"time"
	"unsafe"

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
// and whether they could be read. Both are raw system calls: the goroutine
// stays running through them, as it would in a vDSO call.
func threadCPU() (tid int, cpu time.Duration, ok bool) {
	var ts unix.Timespec
	if _, _, e := unix.RawSyscall(unix.SYS_CLOCK_GETTIME, unix.CLOCK_THREAD_CPUTIME_ID, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0, 0, false
	}
	return unix.Gettid(), time.Duration(ts.Nano()), true
}
