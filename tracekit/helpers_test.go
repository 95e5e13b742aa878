package tracekit

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/kittest"
)

// recorder gives a test its own tracer provider and a root span to start
// tasks under, so no test touches the global provider.
type recorder struct {
	t   *testing.T
	rec *tracetest.SpanRecorder
	tp  *sdktrace.TracerProvider
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return &recorder{t: t, rec: rec, tp: tp}
}

// root starts a root span; end it to have it recorded.
func (r *recorder) root(ctx context.Context) (context.Context, trace.Span) {
	return r.tp.Tracer("test").Start(ctx, "root")
}

func (r *recorder) span(name string) sdktrace.ReadOnlySpan {
	r.t.Helper()
	var found sdktrace.ReadOnlySpan
	for _, s := range r.rec.Ended() {
		if s.Name() == name {
			if found != nil {
				r.t.Fatalf("two ended spans named %q", name)
			}
			found = s
		}
	}
	if found == nil {
		r.t.Fatalf("no ended span named %q; have %v", name, kittest.Names(r.rec.Ended()))
	}
	return found
}

// holdInTask starts a task named name that locks l and holds it until
// release is closed, and returns it once l is held.
func holdInTask(name string, l sync.Locker, release <-chan struct{}) *Task {
	locked := make(chan struct{})
	t := Go(context.Background(), name, func(context.Context) error {
		l.Lock()
		close(locked)
		<-release
		l.Unlock()
		return nil
	})
	<-locked
	return t
}

// namedMutex returns a Mutex named name.
func namedMutex(name string) *Mutex {
	m := &Mutex{}
	m.SetName(name)
	return m
}

// namedRWMutex returns an RWMutex named name.
func namedRWMutex(name string) *RWMutex {
	m := &RWMutex{}
	m.SetName(name)
	return m
}

// lineIn returns the line of the test file name that ends with the comment
// "// marker".
func lineIn(t *testing.T, name, marker string) int {
	t.Helper()
	src, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(src), "\n") {
		if strings.HasSuffix(line, "// "+marker) {
			return i + 1
		}
	}
	t.Fatalf("%s has no line marked %q", name, marker)
	return 0
}
