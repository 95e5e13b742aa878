package jaeger_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracekit-go/tracekit/e2e/internal/jaeger"
)

// Example builds (or finds) Jaeger, starts it, exports one span over
// OTLP/HTTP and reads it back. It is compiled but not run by go test; the
// tests in this package run the same steps.
func Example() {
	ctx := context.Background()
	bin, err := jaeger.Build(ctx, os.Stderr)
	if err != nil {
		log.Fatal(err)
	}
	srv, err := jaeger.Start(ctx, bin, os.Stderr)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Stop()

	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(srv.OTLPHTTPEndpoint()+"/v1/traces"))
	if err != nil {
		log.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	_, span := tp.Tracer("example").Start(ctx, "hello")
	span.End()
	shutdownCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := tp.Shutdown(shutdownCtx); err != nil {
		log.Fatal(err)
	}

	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tr, err := srv.Trace(qctx, span.SpanContext().TraceID().String())
	if err != nil {
		log.Fatal(err)
	}
	s, _ := tr.SpanByName("hello")
	fmt.Println(s.OperationName, tr.ServiceOf(s))
}
