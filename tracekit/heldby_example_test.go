//go:build !tracekit_nosync && (amd64 || arm64)

package tracekit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tracekit-go/tracekit/tracekit"
)

// While a Kit runs, a task waiting on a tracekit lock says which task
// holds it.
func ExampleTaskInfo_heldBy() {
	kit, err := tracekit.Start(context.Background(),
		tracekit.WithTracesExporter(tracekit.ExporterNone),
		tracekit.WithMetricsExporter(tracekit.ExporterNone),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer kit.Shutdown(context.Background())

	mu := tracekit.NewMutex("orders")
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
		byID := map[uint64]tracekit.TaskInfo{}
		for _, t := range tracekit.Snapshot() {
			byID[t.ID] = t
		}
		if ti := byID[waiter.ID()]; ti.State == tracekit.TaskWaiting {
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
