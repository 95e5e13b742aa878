package sdk_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

// The task lints run while a Kit runs. Here a request starts a background
// refresh and returns without waiting for it; the refresh is still running
// well after its parent ended, which the orphan lint reports once.
func ExampleWithOrphanGrace() {
	reports := make(chan inspect.Report, 1)
	kit, err := sdk.Start(context.Background(),
		sdk.WithTracesExporter(sdk.ExporterNone),
		sdk.WithMetricsExporter(sdk.ExporterNone),
		sdk.WithLintInterval(10*time.Millisecond),   // sweep often (default 1s)
		sdk.WithOrphanGrace(50*time.Millisecond),    // default 30s
		sdk.WithSpawnGrowthInterval(10*time.Second), // default 5s
		sdk.WithSpawnGrowthMinRise(100),             // default 10
		sdk.WithReportHandler(func(r inspect.Report) {
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
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := kit.Shutdown(shutdownCtx); err != nil {
		fmt.Println(err)
	}
	// Output: orphan-task refresh cache true
}
