//go:build !tracekit_nosync && (amd64 || arm64)

package inspect_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

// Tasks lists the running tasks; while a detector runs (sdk.Start
// installs one), a task waiting on a tracekit lock says which task holds
// it.
func ExampleTasks() {
	kit, err := sdk.Start(context.Background(),
		sdk.WithTracesExporter(sdk.ExporterNone),
		sdk.WithMetricsExporter(sdk.ExporterNone),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { // bounded: an exporter that hangs must not hold the exit
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = kit.Shutdown(ctx)
	}()

	var mu tracekit.Mutex
	mu.SetName("orders")
	locked, release := make(chan struct{}), make(chan struct{})
	holder := tracekit.Go(context.Background(), "refresh", func(context.Context) error {
		mu.Lock()
		close(locked)
		<-release
		mu.Unlock()
		return nil
	})
	<-locked
	waiter := tracekit.Go(context.Background(), "checkout", func(context.Context) error {
		mu.Lock()
		mu.Unlock()
		return nil
	})
	for {
		byID := map[uint64]inspect.Task{}
		for _, t := range inspect.Tasks() {
			byID[t.ID] = t
		}
		if ti := byID[waiter.ID()]; ti.State() == inspect.TaskWaiting {
			fmt.Printf("%s waits on %s, held by %s\n", ti.Name, ti.WaitingOn, byID[ti.HeldBy].Name)
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	_ = holder.Wait()
	_ = waiter.Wait()
	// Output: checkout waits on lock "orders", held by refresh
}

// Tasks lists the tasks running now: here one waiting for a signal.
func ExampleTasks_running() {
	release := make(chan struct{})
	task := tracekit.Go(context.Background(), "wait for release", func(context.Context) error {
		<-release
		return nil
	})
	// A task is listed once its goroutine has started.
	for {
		listed := false
		for _, ti := range inspect.Tasks() {
			if ti.ID == task.ID() {
				fmt.Printf("%s: %s, started by %s\n", ti.Name, ti.State(), ti.SpawnFunction)
				listed = true
			}
		}
		if listed {
			break
		}
	}
	close(release)
	_ = task.Wait()
	// Output:
	// wait for release: running, started by github.com/tracekit-go/tracekit/tracekit/inspect_test.ExampleTasks_running
}

// TasksWithStacks adds each task's goroutine and where it is now.
func ExampleTasksWithStacks() {
	release := make(chan struct{})
	task := tracekit.Go(context.Background(), "wait for release", func(context.Context) error {
		<-release
		return nil
	})
	defer func() { close(release); _ = task.Wait() }()
	for {
		ts, err := inspect.TasksWithStacks()
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, ti := range ts {
			if ti.ID == task.ID() && strings.Contains(ti.Stack, "ExampleTasksWithStacks.func1") {
				fmt.Println(ti.Name, ti.Goroutine != 0, strings.Contains(ti.Stack, "ExampleTasksWithStacks"))
				return
			}
		}
	}
	// Output: wait for release true true
}
