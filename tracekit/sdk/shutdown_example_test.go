package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

// fullDisk is a span exporter whose every export fails, like a file on a
// full disk.
type fullDisk struct{}

func (fullDisk) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return syscall.ENOSPC }
func (fullDisk) Shutdown(context.Context) error                             { return nil }
func (fullDisk) String() string                                             { return "disk /var/spans" }

// Shutdown gets a bounded context, made when it is called. Unless every
// span was delivered, its error says per exporter what became of them.
func ExampleKit_Shutdown() {
	kit, err := sdk.Start(context.Background(),
		sdk.WithSpanExporter(fullDisk{}),
		sdk.WithMetricsExporter(sdk.ExporterNone),
		sdk.WithErrorHandler(func(error) {}),
		sdk.WithoutGlobals(),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 3 {
		_, span := kit.TracerProvider().Tracer("example").Start(context.Background(), "work")
		span.End()
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = kit.Shutdown(ctx)
	fmt.Println(err)
	var se *sdk.ShutdownError
	if errors.As(err, &se) {
		st := se.Exporters[0].Stats
		fmt.Println(se.Exporters[0].Destination, st.Failed, errors.Is(err, syscall.ENOSPC))
	}
	// Output:
	// tracekit: shutdown: 3 spans not delivered
	//   traces to disk /var/spans: 0 exported, 0 dropped, 3 failed, 0 still pending; last export error: no space left on device
	// disk /var/spans 3 true
}

// While exports keep failing, the error handler hears of the first at once
// and then of the others once per interval, in a summary that counts them
// and unwraps to the last; Shutdown reports what is left to report.
func ExampleWithErrorInterval() {
	kit, err := sdk.Start(context.Background(),
		sdk.WithSpanExporter(fullDisk{}),
		sdk.WithMetricsExporter(sdk.ExporterNone),
		sdk.WithErrorInterval(time.Minute),
		sdk.WithErrorHandler(func(err error) {
			if _, first := err.(*sdk.ExportError); first {
				fmt.Println(err)
				return
			}
			var last *sdk.ExportError
			if errors.As(err, &last) { // a summary: "3 more errors like this in 1.2s: " and the last
				count, _, _ := strings.Cut(err.Error(), " in ")
				fmt.Printf("%s (last: %d span to %s)\n", count, last.Items, last.Destination)
			}
		}),
		sdk.WithoutGlobals(),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	tracer := kit.TracerProvider().Tracer("example")
	for range 4 {
		_, span := tracer.Start(context.Background(), "work")
		span.End()
		_ = kit.ForceFlush(context.Background()) // one failed export per span
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = kit.Shutdown(ctx)
	// Output:
	// tracekit: export 1 span to disk /var/spans: no space left on device
	// 3 more errors like this (last: 1 span to disk /var/spans)
}
