//go:build !tracekit_nosync

package tkgrpc_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/kittest/kitrun"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
	"github.com/tracekit-go/tracekit/tracekit/tkgrpc"
)

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
