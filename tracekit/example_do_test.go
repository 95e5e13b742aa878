package tracekit_test

import (
	"context"
	"fmt"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// A callback that a library runs on a goroutine of its own becomes a task
// for the length of the call: listed while it runs, its lock waits under
// its span, which is a child of the caller's.
func ExampleDo() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	ctx, job := tp.Tracer("example").Start(context.Background(), "nightly-job")

	onRow := func(row int) error { // called by a library, on its goroutine
		return tracekit.Do(ctx, "import-row", func(ctx context.Context) error {
			for _, t := range inspect.Tasks() {
				fmt.Println("running:", t.Name)
			}
			if row < 0 {
				return fmt.Errorf("row %d: negative", row)
			}
			return nil
		})
	}
	fmt.Println(onRow(-1))
	job.End()
	for _, s := range rec.Ended() {
		fmt.Println(s.Name(), s.Status().Code, "child of nightly-job:", s.Parent().SpanID() == job.SpanContext().SpanID())
	}
	// Output:
	// running: import-row
	// row -1: negative
	// import-row Error child of nightly-job: true
	// nightly-job Unset child of nightly-job: false
}

// Where a span already stands for the work, such as the server span of a
// request, Bind makes the goroutine its task without a second span.
func ExampleBind() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	ctx, request := tp.Tracer("example").Start(context.Background(), "GET /orders")

	err := tracekit.Bind(ctx, "GET /orders", func(ctx context.Context) error {
		for _, t := range inspect.Tasks() {
			fmt.Println("running:", t.Name, "in the request's span:", t.SpanID == request.SpanContext().SpanID())
		}
		return nil
	})
	request.End()
	fmt.Println(err, "spans:", len(rec.Ended()))
	// Output:
	// running: GET /orders in the request's span: true
	// <nil> spans: 1
}
