package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/tracekit-go/tracekit/tracekit/console"
)

// debugServer serves the live console and net/http/pprof on an address of
// their own, kept apart from the service's port so that they are never
// exposed by mistake with it.
type debugServer struct {
	srv  *http.Server
	done chan error
}

// startDebug listens on addr and serves /debug/tracekit/ (the console; its
// trace links come from TRACEKIT_TRACE_URL) and /debug/pprof/.
func startDebug(addr string, out io.Writer) (*debugServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-debug: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/tracekit/", http.StripPrefix("/debug/tracekit", console.Handler()))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	d := &debugServer{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
		done: make(chan error, 1),
	}
	go func() {
		err := d.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		d.done <- err
	}()
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "debug: console %s/debug/tracekit/, profiles %s/debug/pprof/\n", base, base)
	return d, nil
}

// stop closes the debug server; requests in flight (a 30s CPU profile, a
// console page) are cut short rather than waited for.
func (d *debugServer) stop() error {
	if d == nil {
		return nil
	}
	err := d.srv.Close()
	return errors.Join(err, <-d.done)
}
