package tracekit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tracekit-go/tracekit/tracekit"
)

// The task lints run while a Kit runs. Here a request starts a background
// refresh and returns without waiting for it; the refresh is still running
// well after its parent ended, which the orphan lint reports once.
func ExampleWithLintInterval() {
	reports := make(chan tracekit.Report, 1)
	kit, err := tracekit.Start(context.Background(),
		tracekit.WithTracesExporter(tracekit.ExporterNone),
		tracekit.WithMetricsExporter(tracekit.ExporterNone),
		tracekit.WithLintInterval(10*time.Millisecond),        // sweep often (default 1s)
		tracekit.WithOrphanLint(50*time.Millisecond),          // default 30s
		tracekit.WithBlockedLint(time.Minute),                 // default 10s
		tracekit.WithLockHeldLint(5*time.Second),              // default 1s
		tracekit.WithSpawnGrowthLint(12, 10*time.Second, 100), // default 12, 5s, 10
		tracekit.WithReportHandler(func(r tracekit.Report) {
			select {
			case reports <- r:
			default:
			}
		}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer kit.Shutdown(context.Background())

	done := make(chan struct{})
	var refresh *tracekit.Task
	request := tracekit.Go(context.Background(), "handle request", func(ctx context.Context) error {
		refresh = tracekit.Go(ctx, "refresh cache", func(context.Context) error {
			<-done
			return nil
		})
		return nil // returns without waiting for the refresh
	})
	_ = request.Wait()

	r := <-reports
	fmt.Println(r.Kind, r.Tasks[0].Name, r.Tasks[0].Parent == request.ID())
	close(done)
	_ = refresh.Wait()
	// Output: orphan-task refresh cache true
}
