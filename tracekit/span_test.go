package tracekit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/tasks"
)

type spanStore struct{ fail error }

func (s *spanStore) load(ctx context.Context) (err error) {
	ctx, span := Span(ctx) // site:load
	defer span.End(&err)
	if !trace.SpanFromContext(ctx).SpanContext().Equal(span.SpanContext()) {
		return errors.New("the returned context does not hold the span")
	}
	return s.fail
}

func (s spanStore) byValue(ctx context.Context) {
	_, span := Span(ctx)
	span.End(nil)
}

func plainFunc(ctx context.Context, opts ...trace.SpanStartOption) {
	_, span := Span(ctx, opts...)
	span.End(nil)
}

func namedFunc(ctx context.Context, name string, opts ...trace.SpanStartOption) {
	_, span := SpanNamed(ctx, name, opts...)
	span.End(nil)
}

func panics(ctx context.Context, v any) (err error) {
	_, span := Span(ctx)
	defer span.End(&err)
	panic(v)
}

// markerLine returns the line of this package's file that holds marker.
func markerLine(t *testing.T, file, marker string) int {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if strings.Contains(sc.Text(), marker) {
			return n
		}
	}
	t.Fatalf("no %q in %s", marker, file)
	return 0
}

func TestSpanNames(t *testing.T) {
	r := newRecorder(t)
	ctx, root := r.root(context.Background())
	s := &spanStore{}
	if err := s.load(ctx); err != nil {
		t.Fatal(err)
	}
	spanStore{}.byValue(ctx)
	plainFunc(ctx)
	func() {
		_, span := Span(ctx)
		span.End(nil)
	}()
	root.End()

	for _, name := range []string{
		"tracekit.(*spanStore).load",
		"tracekit.spanStore.byValue",
		"tracekit.plainFunc",
		"tracekit.TestSpanNames.func1",
	} {
		t.Run(name, func(t *testing.T) {
			s := r.span(name)
			if s.Parent().SpanID() != root.SpanContext().SpanID() {
				t.Errorf("parent = %v, want the root span", s.Parent().SpanID())
			}
			if v, _ := kittest.Attr(s, otelsemconv.CodeFunctionNameKey); v.AsString() != "github.com/tracekit-go/tracekit/"+name {
				t.Errorf("code.function.name = %q", v.AsString())
			}
			if v, _ := kittest.Attr(s, keyKind); v.AsString() != string(kindFunction) {
				t.Errorf("tracekit.kind = %q, want %q", v.AsString(), kindFunction)
			}
			if s.Status().Code != codes.Unset || len(s.Events()) != 0 {
				t.Errorf("status %v with %d events, want unset and none", s.Status(), len(s.Events()))
			}
		})
	}

	load := r.span("tracekit.(*spanStore).load")
	abs, _ := filepath.Abs("span_test.go")
	if v, _ := kittest.Attr(load, otelsemconv.CodeFilePathKey); v.AsString() != abs {
		t.Errorf("code.file.path = %q, want %q", v.AsString(), abs)
	}
	if v, _ := kittest.Attr(load, otelsemconv.CodeLineNumberKey); int(v.AsInt64()) != markerLine(t, "span_test.go", "// site:load") {
		t.Errorf("code.line.number = %d, want the line of the Span call", v.AsInt64())
	}
}

func TestSpanEnd(t *testing.T) {
	errNotFound := errors.New("not found")
	tests := []struct {
		name       string
		fail       error
		wantStatus codes.Code
		wantDesc   string
		wantEvents int
	}{
		{"nil error", nil, codes.Unset, "", 0},
		{"error", errNotFound, codes.Error, "not found", 1},
		{"wrapped error", fmt.Errorf("load 7: %w", errNotFound), codes.Error, "load 7: not found", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder(t)
			ctx, root := r.root(context.Background())
			err := (&spanStore{fail: tt.fail}).load(ctx)
			root.End()
			if err != tt.fail {
				t.Fatalf("load returned %v, want %v", err, tt.fail)
			}
			s := r.span("tracekit.(*spanStore).load")
			if s.Status().Code != tt.wantStatus || s.Status().Description != tt.wantDesc {
				t.Errorf("status = %+v, want %v %q", s.Status(), tt.wantStatus, tt.wantDesc)
			}
			if len(s.Events()) != tt.wantEvents {
				t.Fatalf("%d events, want %d", len(s.Events()), tt.wantEvents)
			}
			if tt.wantEvents > 0 {
				e := s.Events()[0]
				if e.Name != string(otelsemconv.ExceptionEventName) {
					t.Errorf("event %q, want exception", e.Name)
				}
				if got := kittest.EventAttr(e, otelsemconv.ExceptionMessageKey); got != tt.wantDesc {
					t.Errorf("exception.message = %q, want %q", got, tt.wantDesc)
				}
			}
		})
	}
}

func TestSpanEndPanic(t *testing.T) {
	tests := []struct {
		name     string
		value    any
		wantType string
	}{
		{"string", "boom", "string"},
		{"error", errors.New("bad state"), "*errors.errorString"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder(t)
			ctx, root := r.root(context.Background())
			var got any
			func() {
				defer func() { got = recover() }()
				_ = panics(ctx, tt.value)
			}()
			root.End()
			if got != tt.value {
				t.Fatalf("recovered %v, want the original panic value %v", got, tt.value)
			}
			s := r.span("tracekit.panics")
			if s.Status().Code != codes.Error || s.Status().Description != fmt.Sprint("panic: ", tt.value) {
				t.Errorf("status = %+v", s.Status())
			}
			if v, _ := kittest.Attr(s, keyPanic); !v.AsBool() {
				t.Errorf("tracekit.panic not set")
			}
			if len(s.Events()) != 1 {
				t.Fatalf("%d events, want 1", len(s.Events()))
			}
			e := s.Events()[0]
			if got := kittest.EventAttr(e, otelsemconv.ExceptionTypeKey); got != tt.wantType {
				t.Errorf("exception.type = %q, want %q", got, tt.wantType)
			}
			if st := kittest.EventAttr(e, otelsemconv.ExceptionStacktraceKey); !strings.Contains(st, "tracekit.panics(") {
				t.Errorf("stack does not show the panicking function:\n%s", st)
			}
		})
	}

	t.Run("runtime error", func(t *testing.T) {
		r := newRecorder(t)
		ctx, root := r.root(context.Background())
		func() {
			defer func() { _ = recover() }()
			_, span := Span(ctx)
			defer span.End(nil)
			var m map[string]int
			m["x"]++
		}()
		root.End()
		s := r.span("tracekit.TestSpanEndPanic.func2.1")
		if got := kittest.EventAttr(s.Events()[0], otelsemconv.ExceptionTypeKey); got != "runtime.Error" {
			t.Errorf("exception.type = %q, want runtime.Error", got)
		}
	})
}

func TestSpanOptions(t *testing.T) {
	r := newRecorder(t)
	ctx, root := r.root(context.Background())
	namedFunc(ctx, "load-user", trace.WithAttributes(attribute.String("user.id", "u7")), trace.WithSpanKind(trace.SpanKindClient))
	plainFunc(ctx, trace.WithAttributes(attribute.String("user.id", "u8")))
	root.End()
	if v, _ := kittest.Attr(r.span("tracekit.plainFunc"), "user.id"); v.AsString() != "u8" {
		t.Errorf("plainFunc's user.id = %q", v.AsString())
	}
	s := r.span("load-user")
	if v, _ := kittest.Attr(s, "user.id"); v.AsString() != "u7" {
		t.Errorf("user.id = %q", v.AsString())
	}
	if v, _ := kittest.Attr(s, otelsemconv.CodeFunctionNameKey); v.AsString() != "github.com/tracekit-go/tracekit/tracekit.namedFunc" {
		t.Errorf("code.function.name = %q", v.AsString())
	}
	if s.SpanKind() != trace.SpanKindClient {
		t.Errorf("kind = %v, want client", s.SpanKind())
	}
}

// Without a span in the context and without a global provider, Span and End
// do nothing, and a zero FuncSpan still lets a panic through.
func TestSpanUntraced(t *testing.T) {
	ctx, span := Span(context.Background())
	if span.IsRecording() {
		t.Error("span is recording without a provider")
	}
	err := errors.New("x")
	span.End(&err)
	if ctx == nil {
		t.Fatal("nil context")
	}

	var zero FuncSpan
	zero.End(nil)
	var got any
	func() {
		defer func() { got = recover() }()
		defer zero.End(nil)
		panic("through")
	}()
	if got != "through" {
		t.Errorf("recovered %v, want the panic to pass through a zero FuncSpan", got)
	}
}

// The call-site name costs no allocation, and the site's option is handed
// to the tracer in a slice made once: Span allocates what the same
// tracer.Start call allocates, less that call's variadic slice.
func TestSpanAllocs(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx, root := tp.Tracer("test").Start(context.Background(), "root")
	defer root.End()
	tracer := detect.Tracer(ctx)
	opt := tasks.SiteOf(0, semconv.KindFunction).Opts[0]
	plain := testing.AllocsPerRun(100, func() {
		_, span := tracer.Start(ctx, "tracekit.TestSpanAllocs.func1", opt)
		span.End()
	})
	got := testing.AllocsPerRun(100, func() {
		_, span := Span(ctx)
		span.End(nil)
	})
	if got != plain-1 {
		t.Errorf("Span+End: %v allocs, tracer.Start+End with the same attributes: %v, want one less", got, plain)
	}
}

// runtime.Goexit (t.FailNow in a test) is not a panic: the span ends
// without an error.
func TestSpanEndGoexit(t *testing.T) {
	r := newRecorder(t)
	ctx, root := r.root(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, span := SpanNamed(ctx, "exits")
		defer span.End(nil)
		runtime.Goexit()
	}()
	<-done
	root.End()
	s := r.span("exits")
	if s.Status().Code != codes.Unset || len(s.Events()) != 0 {
		t.Errorf("status %v with %d events, want unset and none", s.Status(), len(s.Events()))
	}
}
