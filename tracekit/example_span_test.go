package tracekit_test

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/tracekit"
)

type Store struct{ users map[string]string }

var ErrNotFound = errors.New("not found")

// Load has a span named after it, tracekit_test.(*Store).Load, which records
// the error Load returns.
func (s *Store) Load(ctx context.Context, id string) (name string, err error) {
	ctx, span := tracekit.Span(ctx)
	defer span.End(&err)
	name, ok := s.users[id]
	if !ok {
		return "", fmt.Errorf("load %s: %w", id, ErrNotFound)
	}
	return name, nil
}

func ExampleSpan() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	ctx, request := tp.Tracer("example").Start(context.Background(), "request")

	s := &Store{users: map[string]string{"u1": "Ada"}}
	fmt.Println(s.Load(ctx, "u1"))
	fmt.Println(s.Load(ctx, "u2"))
	request.End()

	for _, span := range rec.Ended() {
		fmt.Printf("%s: %s %q, %d events\n", span.Name(), span.Status().Code, span.Status().Description, len(span.Events()))
	}
	// Output:
	// Ada <nil>
	//  load u2: not found
	// tracekit_test.(*Store).Load: Unset "", 0 events
	// tracekit_test.(*Store).Load: Error "load u2: not found", 1 events
	// request: Unset "", 0 events
}

// A panic passing through End is recorded on the span, which ends, and
// goes on up the stack unchanged.
func ExampleFuncSpan_End_panic() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	ctx, request := tp.Tracer("example").Start(context.Background(), "request")

	var nilStore *Store
	func() {
		defer func() { fmt.Println("recovered:", recover()) }()
		_, _ = nilStore.Load(ctx, "u1") // nil pointer dereference
	}()
	request.End()

	load := rec.Ended()[0]
	fmt.Println(load.Name(), load.Status().Code, load.Events()[0].Name)
	// Output:
	// recovered: runtime error: invalid memory address or nil pointer dereference
	// tracekit_test.(*Store).Load Error exception
}

// SpanNamed names the span; its start options are OpenTelemetry's own.
func ExampleSpanNamed() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	ctx, request := tp.Tracer("example").Start(context.Background(), "request")

	func() {
		_, span := tracekit.SpanNamed(ctx, "charge-card",
			trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attribute.String("card.brand", "visa")))
		defer span.End(nil)
	}()
	request.End()

	s := rec.Ended()[0]
	brand := ""
	for _, kv := range s.Attributes() {
		if kv.Key == "card.brand" {
			brand = kv.Value.AsString()
		}
	}
	fmt.Println(s.Name(), s.SpanKind(), brand)
	// Output: charge-card client visa
}
