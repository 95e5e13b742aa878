package tkgrpc

import (
	"context"
	"errors"
	"strings"

	"go.opentelemetry.io/otel"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/tracekit-go/tracekit/tracekit"
)

// UnaryServerInterceptor returns an interceptor that runs each unary call
// as a tracekit task named after its method ("bank.Ledger/Balance"). When
// the call's context holds a span of this process (otelgrpc's server stats
// handler), the task is bound to it; otherwise it gets a server span, a
// child of the trace in the call's metadata (through the global
// propagator), which records the handler's error. A panic in the handler
// is recorded on the span and raised again with the same value.
func UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		var resp any
		err := run(ctx, info.FullMethod, func(ctx context.Context) error {
			var err error
			resp, err = handler(ctx, req)
			return err
		})
		return resp, err
	}
}

// StreamServerInterceptor returns an interceptor that runs each stream's
// handler as a tracekit task, as [UnaryServerInterceptor] does a unary
// call; the stream's Context holds the task.
func StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return run(ss.Context(), info.FullMethod, func(ctx context.Context) error {
			return handler(srv, &stream{ServerStream: ss, ctx: ctx})
		})
	}
}

// stream is a server stream whose Context is the task's.
type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stream) Context() context.Context { return s.ctx }

// run runs handle as the task of the call to fullMethod.
func run(ctx context.Context, fullMethod string, handle func(context.Context) error) error {
	name := strings.TrimPrefix(fullMethod, "/")
	var err error
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && !sc.IsRemote() {
		err = tracekit.Bind(ctx, name, handle)
	} else {
		if !sc.IsValid() {
			if md, ok := metadata.FromIncomingContext(ctx); ok {
				ctx = otel.GetTextMapPropagator().Extract(ctx, carrier(md))
			}
		}
		err = tracekit.Do(ctx, name, handle, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(otelsemconv.RPCSystemNameGRPC, otelsemconv.RPCMethod(name)))
	}
	if pe, ok := errors.AsType[*tracekit.PanicError](err); ok {
		panic(pe.Value)
	}
	return err
}

// carrier reads a call's metadata for the propagator.
type carrier metadata.MD

func (c carrier) Get(key string) string {
	if v := metadata.MD(c).Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c carrier) Set(key, value string) { metadata.MD(c).Set(key, value) }

func (c carrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
