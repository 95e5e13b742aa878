package jaeger

import "syscall"

// sysProcAttr starts a new process group. Pdeathsig fires when the OS thread
// that started the process exits; the Go runtime keeps its threads for the
// life of the process unless a goroutine locked to one (runtime.LockOSThread)
// exits, so do not call Start from such a goroutine.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
