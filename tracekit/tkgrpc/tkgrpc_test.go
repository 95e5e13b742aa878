package tkgrpc_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/kittest/kitrun"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
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

// waitListed waits until a task named name waits on the ledger's lock.
func waitListed(t *testing.T, name string) inspect.Task {
	t.Helper()
	var found inspect.Task
	if !testwait.For(time.Minute, func() bool {
		for _, ti := range inspect.Tasks() {
			if ti.Name == name && ti.WaitingOn == `lock "ledger"` {
				found = ti
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no task %q waiting on the ledger: %+v", name, inspect.Tasks())
	}
	return found
}

// With otelgrpc's stats handler, a call is a task bound to otelgrpc's
// server span: listed by method, its lock wait a child of that span, its
// hang report in that span's trace; a stream's handler gets the task in
// its context. No span is added.
func TestCallsUnderOtelgrpc(t *testing.T) {
	kit := kitrun.Start(t, sdk.WithSlowThreshold(time.Millisecond), sdk.WithHangTimeout(50*time.Millisecond))
	l := &ledger{}
	l.mu.SetName("ledger")
	conn := serve(t, l, grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(kit.TracerProvider()))),
		grpc.UnaryInterceptor(tkgrpc.UnaryServerInterceptor()), grpc.StreamInterceptor(tkgrpc.StreamServerInterceptor()))

	l.mu.Lock()
	unary := make(chan error, 1)
	go func() {
		unary <- conn.Invoke(context.Background(), "/bank.Ledger/Balance", &emptypb.Empty{}, &emptypb.Empty{})
	}()
	call := waitListed(t, "bank.Ledger/Balance")
	rep, ok := kit.Reports.WaitFor(inspect.KindHang, time.Minute)
	if !ok {
		t.Fatal("no hang report")
	}
	l.mu.Unlock()
	if err := <-unary; err != nil {
		t.Fatal(err)
	}

	l.mu.Lock()
	streamed := make(chan error, 1)
	go func() {
		s, err := conn.NewStream(context.Background(), &grpc.StreamDesc{ServerStreams: true}, "/bank.Ledger/Watch")
		if err == nil {
			err = s.SendMsg(&emptypb.Empty{})
		}
		if err == nil {
			err = s.CloseSend()
		}
		if err == nil {
			err = s.RecvMsg(&emptypb.Empty{})
		}
		if err == nil {
			if err = s.RecvMsg(&emptypb.Empty{}); errors.Is(err, io.EOF) {
				err = nil
			}
		}
		streamed <- err
	}()
	feed := waitListed(t, "watch-feed")
	if !testwait.For(time.Minute, func() bool { return len(kit.Reports.All()) >= 2 }) { // a wait long enough to be a span
		t.Fatal("no hang report for the stream's wait")
	}
	var watch inspect.Task
	for _, ti := range inspect.Tasks() {
		if ti.Name == "bank.Ledger/Watch" {
			watch = ti
		}
	}
	l.mu.Unlock()
	if err := <-streamed; err != nil {
		t.Fatal(err)
	}
	if watch.ID == 0 || feed.Parent != watch.ID {
		t.Errorf("the stream's task %+v is not the parent of the task its handler started (%+v)", watch, feed)
	}

	// otelgrpc ends a stream's span once the status is out: the client may
	// see the stream end first.
	var got map[string][]sdktrace.ReadOnlySpan
	testwait.For(time.Minute, func() bool { got = kit.ByName(t); return len(got["bank.Ledger/Watch"]) > 0 })
	for name, ss := range got {
		for _, s := range ss {
			if v, _ := kittest.Attr(s, attribute.Key(semconv.Kind)); v.AsString() == semconv.KindTask {
				t.Errorf("a span of its own for the call: %q", name)
			}
		}
	}
	if len(got["bank.Ledger/Balance"]) != 1 || len(got["bank.Ledger/Watch"]) != 1 || len(got["lock.wait ledger"]) != 2 {
		t.Fatalf("spans: %v; want otelgrpc's two and two lock waits", kittest.Names(kit.Spans.Spans()))
	}
	balance, watchSpan := got["bank.Ledger/Balance"][0], got["bank.Ledger/Watch"][0]
	if call.SpanID != balance.SpanContext().SpanID() || watch.SpanID != watchSpan.SpanContext().SpanID() {
		t.Errorf("the tasks are not bound to otelgrpc's spans: %+v, %+v", call, watch)
	}
	parents := map[trace.SpanID]bool{}
	for _, w := range got["lock.wait ledger"] {
		parents[w.Parent().SpanID()] = true
	}
	if !parents[balance.SpanContext().SpanID()] || !parents[got["watch-feed"][0].SpanContext().SpanID()] {
		t.Errorf("the lock waits are not under the call and the stream's task")
	}
	if rep.SpanContext.SpanID() != balance.SpanContext().SpanID() {
		t.Errorf("hang report on span %s, want the call's %s", rep.SpanContext.SpanID(), balance.SpanContext().SpanID())
	}
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
