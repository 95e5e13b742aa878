package tkgrpc_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/kittest/kitrun"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
	"github.com/tracekit-go/tracekit/tracekit/tkgrpc"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ledger is a gRPC service written without generated code: Balance (unary)
// and Watch (server streaming), both on google.protobuf.Empty, both taking
// its lock.
type ledger struct {
	mu tracekit.Mutex
}

func (l *ledger) desc() *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: "bank.Ledger",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Balance", Handler: func(_ any, ctx context.Context, dec func(any) error, in grpc.UnaryServerInterceptor) (any, error) {
			var req emptypb.Empty
			if err := dec(&req); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, _ any) (any, error) {
				l.mu.Lock()
				l.mu.Unlock()
				return &emptypb.Empty{}, nil
			}
			if in == nil {
				return h(ctx, &req)
			}
			return in(ctx, &req, &grpc.UnaryServerInfo{FullMethod: "/bank.Ledger/Balance"}, h)
		}}},
		Streams: []grpc.StreamDesc{{StreamName: "Watch", ServerStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
			if err := ss.RecvMsg(&emptypb.Empty{}); err != nil {
				return err
			}
			// Tasks started from the stream's context are the call's children.
			return tracekit.Go(ss.Context(), "watch-feed", func(context.Context) error {
				l.mu.Lock()
				l.mu.Unlock()
				return ss.SendMsg(&emptypb.Empty{})
			}).Wait()
		}}},
	}
}

// serve serves l on a loopback port with opts, and returns a client
// connection to it; both are closed when the test ends.
func serve(t *testing.T, l *ledger, opts ...grpc.ServerOption) *grpc.ClientConn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(opts...)
	srv.RegisterService(l.desc(), struct{}{})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		<-served
	})
	return conn
}

// Without otelgrpc, a call's task has a server span of its own, a child of
// the trace in the call's metadata.
func TestCallsWithoutOtelgrpc(t *testing.T) {
	kit := kitrun.Start(t)
	conn := serve(t, &ledger{}, grpc.UnaryInterceptor(tkgrpc.UnaryServerInterceptor()))
	ctx := metadata.AppendToOutgoingContext(context.Background(), "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if err := conn.Invoke(ctx, "/bank.Ledger/Balance", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	got := kit.ByName(t)["bank.Ledger/Balance"]
	if len(got) != 1 {
		t.Fatalf("spans: %v, want one for the call", kittest.Names(kit.Spans.Spans()))
	}
	s := got[0]
	if s.SpanKind() != trace.SpanKindServer || s.SpanContext().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" ||
		s.Parent().SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("span kind %v, trace %s, parent %s; want a server span under the metadata's traceparent", s.SpanKind(), s.SpanContext().TraceID(), s.Parent().SpanID())
	}
	for key, want := range map[string]string{semconv.Kind: semconv.KindTask, "rpc.system.name": "grpc", "rpc.method": "bank.Ledger/Balance"} {
		if v, _ := kittest.Attr(s, attribute.Key(key)); v.Emit() != want {
			t.Errorf("%s = %q, want %q", key, v.Emit(), want)
		}
	}
}

// A handler's panic is recorded on its span and raised again with the
// same value, as gRPC would have seen it; its error is returned.
func TestInterceptorPanicAndError(t *testing.T) {
	kit := kitrun.Start(t)
	in := tkgrpc.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/bank.Ledger/Close"}
	var v any
	func() {
		defer func() { v = recover() }()
		_, _ = in(context.Background(), nil, info, func(context.Context, any) (any, error) { panic("handler bug") })
	}()
	if v != "handler bug" {
		t.Errorf("recovered %v, want the handler's panic value", v)
	}
	boom := errors.New("closed")
	if _, err := in(context.Background(), nil, info, func(context.Context, any) (any, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("error %v, want %v", err, boom)
	}
	got := kit.ByName(t)["bank.Ledger/Close"]
	if len(got) != 2 || got[0].Status().Code != codes.Error || got[1].Status().Description != boom.Error() {
		t.Fatalf("spans %v, want the panic and the error recorded", kittest.Names(kit.Spans.Spans()))
	}
	if p, _ := kittest.Attr(got[0], attribute.Key(semconv.Panic)); !p.AsBool() {
		t.Error("the panic is not recorded")
	}
	if len(inspect.Tasks()) != 0 {
		t.Errorf("tasks still listed: %+v", inspect.Tasks())
	}
}
