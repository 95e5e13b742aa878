package otlp_test

import (
	"context"
	"fmt"

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
	defer tp.Shutdown(context.Background())
	fmt.Println(exp)
	// Output: otlp grpc http://localhost:4317
}
