//go:build !unix

package main

import (
	"runtime"
	"time"
)

const goos, goarch = runtime.GOOS, runtime.GOARCH

// processCPU cannot be read here.
func processCPU() (time.Duration, bool) { return 0, false }
