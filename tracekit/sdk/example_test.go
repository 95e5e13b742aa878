package sdk_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

func ExampleStart() {
	// With no options Start follows OTEL_* variables; here they are set in
	// code for the example's sake.
	kit, err := sdk.Start(context.Background(),
		sdk.WithServiceName("inventory"),
		sdk.WithTracesExporter(sdk.ExporterNone),
		sdk.WithoutGlobals(),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(kit.Stats().Exported)

	// Bound the wait: a backend that does not answer must not hold the
	// exit. The error says what was not delivered, per exporter.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := kit.Shutdown(ctx); err != nil {
		fmt.Println(err)
	}
	// Output: 0
}

// A Kit started without the globals leaves the process's providers and
// tracekit's detectors alone; code reaches its pipelines through it: spans
// started under its provider, and tracekit.LogHandler given its logger
// provider.
func ExampleWithoutGlobals() {
	var out bytes.Buffer
	kit, err := sdk.Start(context.Background(),
		sdk.WithServiceName("worker"),
		sdk.WithTracesExporter(sdk.ExporterNone),
		sdk.WithLogsExporter(sdk.ExporterConsole),
		sdk.WithConsoleWriter(&out),
		sdk.WithoutGlobals(),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	logger := slog.New(tracekit.LogHandler(slog.DiscardHandler, tracekit.WithLoggerProvider(kit.LoggerProvider())))
	ctx, span := kit.TracerProvider().Tracer("worker").Start(context.Background(), "job")
	logger.InfoContext(ctx, "job done")
	span.End()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := kit.Shutdown(shutdownCtx); err != nil {
		fmt.Println(err)
	}
	fmt.Println(strings.Contains(out.String(), `"job done"`), strings.Contains(out.String(), span.SpanContext().TraceID().String()))
	// Output: true true
}
