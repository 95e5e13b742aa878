package otlp_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracekit-go/tracekit/exporters/otlp"
)

// An exporter for a Jaeger or Collector listening for OTLP over gRPC on
// localhost, handed to a TracerProvider of your own.
func Example() {
	exp, err := otlp.NewTraceExporter(context.Background(),
		otlp.WithProtocol(otlp.ProtocolGRPC),
		otlp.WithEndpoint("localhost:4317"),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	defer func() {
		// Bounded: a silent endpoint must not hold the program's exit.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tp.Shutdown(ctx)
	}()
	fmt.Println(exp)
	// Output: otlp grpc http://localhost:4317
}

// Logs go over OTLP like the spans: the same options, or the
// OTEL_EXPORTER_OTLP_LOGS_* variables; the headers and the timeout apply.
func ExampleNewLogExporter() {
	exp, err := otlp.NewLogExporter(context.Background(),
		otlp.WithEndpoint("http://collector:4318"),
		otlp.WithHeaders(map[string]string{"x-team": "checkout"}),
		otlp.WithTimeout(5*time.Second),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		exp.Shutdown(ctx)
	}()
	fmt.Println(exp)
	// Output: otlp http/protobuf http://collector:4318/v1/logs
}

// An export that a hung Collector leaves unanswered is reported after two
// seconds, long before the export times out.
func ExampleWithStallReport() {
	exp, err := otlp.NewTraceExporter(context.Background(),
		otlp.WithStallReport(2*time.Second),
		otlp.WithErrorHandler(func(err error) {
			var stall *otlp.StallError
			if errors.As(err, &stall) {
				log.Printf("collector slow: %v", stall)
			}
		}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(exp)
	// Output: otlp http/protobuf http://localhost:4318/v1/traces
}
