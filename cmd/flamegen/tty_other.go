//go:build !linux && !darwin && !freebsd && !netbsd && !openbsd && !dragonfly

package main

// isTTY is false where the terminal check is not implemented: no progress
// output rather than escape codes in a log.
func isTTY(uintptr) bool { return false }
