// Command flamegen turns profiles into flame graphs. See doc.go and Run.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(mainCode())
}

// mainCode runs flamegen under a context that SIGINT or SIGTERM cancels:
// the run stops, removes what it was writing, and the exit status is the
// shell's for a killed process, 128 + the signal's number. A second signal
// kills at once.
func mainCode() int {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	caught := make(chan os.Signal, 1)
	go func() {
		s, ok := <-sigs
		if !ok {
			return
		}
		signal.Stop(sigs)
		caught <- s
		name := "SIGTERM"
		if s == os.Interrupt {
			name = "SIGINT"
		}
		cancel(fmt.Errorf("stopped by %s", name))
	}()
	err := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	signal.Stop(sigs)
	close(sigs)
	select {
	case s := <-caught:
		if n, ok := s.(syscall.Signal); ok {
			return 128 + int(n)
		}
		return 1
	default:
	}
	return ExitCode(err)
}
