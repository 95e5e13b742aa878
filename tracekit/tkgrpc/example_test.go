package tkgrpc_test

import (
	"context"
	"fmt"
	"net"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/tracekit-go/tracekit/tracekit/inspect"
	"github.com/tracekit-go/tracekit/tracekit/tkgrpc"
)

// Each unary call runs as a task named after its method; with otelgrpc's
// stats handler on the server, the task is bound to otelgrpc's span.
func ExampleUnaryServerInterceptor() {
	srv := grpc.NewServer(
		grpc.StatsHandler(otelgrpc.NewServerHandler()),
		grpc.UnaryInterceptor(tkgrpc.UnaryServerInterceptor()),
		grpc.StreamInterceptor(tkgrpc.StreamServerInterceptor()),
	)
	defer srv.Stop()

	// What gRPC does with a call to /bank.Ledger/Balance:
	in := tkgrpc.UnaryServerInterceptor()
	_, _ = in(context.Background(), &emptypb.Empty{}, &grpc.UnaryServerInfo{FullMethod: "/bank.Ledger/Balance"},
		func(ctx context.Context, req any) (any, error) {
			fmt.Println("running:", inspect.Tasks()[0].Name)
			return &emptypb.Empty{}, nil
		})
	// Output: running: bank.Ledger/Balance
}

// A stream's handler runs as a task, and the stream's Context holds it.
func ExampleStreamServerInterceptor() {
	watch := grpc.ServiceDesc{ServiceName: "bank.Ledger", HandlerType: (*any)(nil),
		Streams: []grpc.StreamDesc{{StreamName: "Watch", ServerStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
			fmt.Println("running:", inspect.Tasks()[0].Name)
			return ss.SendMsg(&emptypb.Empty{})
		}}}}
	srv := grpc.NewServer(grpc.StreamInterceptor(tkgrpc.StreamServerInterceptor()))
	srv.RegisterService(&watch, struct{}{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	go srv.Serve(ln)
	defer srv.Stop()

	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	s, err := conn.NewStream(context.Background(), &grpc.StreamDesc{ServerStreams: true}, "/bank.Ledger/Watch")
	if err == nil {
		err = s.CloseSend()
	}
	if err == nil {
		err = s.RecvMsg(&emptypb.Empty{})
	}
	fmt.Println("received:", err)
	// Output:
	// running: bank.Ledger/Watch
	// received: <nil>
}
