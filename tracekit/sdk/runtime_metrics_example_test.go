package sdk_test

import (
	"context"
	"fmt"
	"runtime"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

// A metric reader of one's own (here a ManualReader; a Prometheus exporter
// is another) gets the runtime's histograms when it is made with the
// runtime producer; the readers Start makes from OTEL_METRICS_EXPORTER
// have it already.
func ExampleNewRuntimeProducer() {
	ctx := context.Background()
	reader := sdkmetric.NewManualReader(sdkmetric.WithProducer(sdk.NewRuntimeProducer()))
	k, err := sdk.Start(ctx, sdk.WithoutGlobals(),
		sdk.WithTracesExporter(sdk.ExporterNone), sdk.WithMetricReader(reader))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { // with a bound, so that an export that hangs cannot hold the exit
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = k.Shutdown(ctx)
	}()

	runtime.GC() // two stop-the-world pauses of the collector
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms) // a stop-the-world pause for another cause
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		fmt.Println(err)
		return
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if h, ok := m.Data.(metricdata.Histogram[float64]); ok {
				dp := h.DataPoints[0]
				fmt.Printf("%s: %d buckets, counted: %t\n", m.Name, len(dp.BucketCounts), dp.Count > 0)
			}
		}
	}
	// Output:
	// go.schedule.duration: 26 buckets, counted: true
	// tracekit.gc.pause.duration: 26 buckets, counted: true
	// tracekit.gc.pause.stopping.duration: 26 buckets, counted: true
	// tracekit.stw.pause.duration: 26 buckets, counted: true
}
