package sdk_test

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/tracekit-go/tracekit/tracekit/inspect"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

// A service whose memory limit is close to what it holds is warned once,
// with the limit and where it came from. The watch is on by default; the
// options here only make it sample often.
func ExampleWithMemoryFraction() {
	reports := make(chan inspect.Report, 1)
	kit, err := sdk.Start(context.Background(),
		sdk.WithTracesExporter(sdk.ExporterNone),
		sdk.WithMetricsExporter(sdk.ExporterNone),
		sdk.WithMemoryFraction(0.8),                 // the default
		sdk.WithMemoryInterval(10*time.Millisecond), // default 10s
		sdk.WithReportHandler(func(r inspect.Report) {
			if r.Kind == inspect.KindMemory {
				select {
				case reports <- r:
				default:
				}
			}
		}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}

	// As GOMEMLIMIT=64MiB would, then hold 56 MiB.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(64 << 20))
	held := make([]byte, 56<<20)

	select {
	case r := <-reports:
		fmt.Println(r.Kind, r.Memory.Cause, r.Memory.LimitKind, r.Memory.Limit>>20, "MiB")
	case <-time.After(10 * time.Second):
		fmt.Println("no report")
	}
	runtime.KeepAlive(held)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := kit.Shutdown(shutdownCtx); err != nil {
		fmt.Println(err)
	}
	// Output: memory near-limit GOMEMLIMIT 64 MiB
}
