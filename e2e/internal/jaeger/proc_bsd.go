//go:build unix && !linux

package jaeger

import "syscall"

// sysProcAttr starts a new process group.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
