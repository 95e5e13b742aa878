package jaeger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tracekit-go/tracekit/internal/testwait"
)

const (
	// startTimeout bounds how long [Start] waits for Jaeger to report healthy
	// (scaled by TRACEKIT_TEST_TIMEOUT_SCALE). v1.76.0 is usually healthy
	// within 0.2 s; the margin is for loaded CI machines.
	startTimeout = 60 * time.Second
	// stopGrace is how long [Server.Stop] waits after SIGTERM before SIGKILL.
	stopGrace = 5 * time.Second
	// pollInterval is the pause between health and query polls.
	pollInterval = 50 * time.Millisecond
	// startAttempts is how often [Start] tries fresh ports when another
	// process took one of them between reservation and Jaeger's bind.
	startAttempts = 3
	// logTailSize is how much of Jaeger's output a [StartError] carries.
	logTailSize = 16 << 10
)

// StartError reports that Jaeger did not become healthy. Log holds the end of
// its output, which usually names the cause.
type StartError struct {
	Err error
	Log string
}

func (e *StartError) Error() string {
	if e.Log == "" {
		return "start jaeger: " + e.Err.Error() + " (no output)"
	}
	return "start jaeger: " + e.Err.Error() + "\n--- jaeger output (tail) ---\n" + e.Log
}

func (e *StartError) Unwrap() error { return e.Err }

// ErrExited is wrapped by a [StartError] when the Jaeger process ended before
// it reported healthy.
var ErrExited = errors.New("jaeger exited before it became healthy")

// Server is a running Jaeger process started by [Start]. Its methods are safe
// for concurrent use.
type Server struct {
	cmd    *exec.Cmd
	dir    string
	ports  ports
	tail   *tailBuffer
	client *http.Client

	exited  chan struct{} // closed once cmd.Wait has returned
	waitErr error         // cmd.Wait's result, readable after exited is closed

	stopOnce sync.Once
	stopErr  error
}

// Start runs the Jaeger binary bin with a generated configuration and waits
// until its health check reports healthy, for at most 60 s or until ctx is
// done.
//
// Every endpoint listens on a free port of 127.0.0.1 (see [Server.Sockets]);
// storage is in memory. Jaeger's output, stdout and stderr together, is
// copied to logw, which may be nil; the last 16 KiB of it are kept for
// [StartError].
//
// ctx also bounds the life of the process: when it is done Jaeger gets
// SIGTERM, then SIGKILL 5 s later. Call [Server.Stop] to end it earlier; the
// usual pattern is Start followed by t.Cleanup(func() { srv.Stop() }).
//
// If the process exits or times out before it is healthy, Start cleans up and
// returns a [*StartError]. If Jaeger fails because another process took one
// of its ports in the meantime, Start retries with new ports, three times at
// most.
func Start(ctx context.Context, bin string, logw io.Writer) (*Server, error) {
	var err error
	for range startAttempts {
		var s *Server
		s, err = start(ctx, bin, logw)
		if err == nil {
			return s, nil
		}
		var se *StartError
		if !errors.As(err, &se) || !errors.Is(err, ErrExited) ||
			!strings.Contains(se.Log, "address already in use") || ctx.Err() != nil {
			break
		}
	}
	return nil, err
}

func start(ctx context.Context, bin string, logw io.Writer) (*Server, error) {
	p, err := freePorts()
	if err != nil {
		return nil, err
	}
	cfg, err := renderConfig(p)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tracekit-jaeger-")
	if err != nil {
		return nil, fmt.Errorf("start jaeger: %w", err)
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start jaeger: %w", err)
	}

	tail := newTailBuffer(logTailSize)
	var out io.Writer = tail
	if logw != nil {
		out = io.MultiWriter(tail, logw)
	}
	cmd := exec.CommandContext(ctx, bin, "--config", cfgPath)
	cmd.Dir = dir
	// The same writer for both streams makes exec use one pipe and one copying
	// goroutine, so logw sees lines in order and needs no locking of its own.
	cmd.Stdout = out
	cmd.Stderr = out
	setProcessGroup(cmd)
	cmd.Cancel = func() error { return signalGroup(cmd, sigTerm) }
	cmd.WaitDelay = stopGrace
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start jaeger %s: %w", bin, err)
	}

	s := &Server{
		cmd:   cmd,
		dir:   dir,
		ports: p,
		tail:  tail,
		// A transport of its own, so that Stop can close its idle connections
		// and leave no goroutines behind.
		client: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
		exited: make(chan struct{}),
	}
	go func() {
		s.waitErr = endedByContext(ctx, cmd.Wait())
		close(s.exited)
	}()

	if err := s.waitHealthy(ctx); err != nil {
		s.Stop()
		return nil, &StartError{Err: err, Log: tail.String()}
	}
	return s, nil
}

// waitHealthy polls the health check until it reports healthy, the process
// exits, ctx is done or startTimeout passes.
func (s *Server) waitHealthy(ctx context.Context) error {
	begin := time.Now()
	deadline := time.NewTimer(testwait.Scale(startTimeout))
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if s.healthy(ctx) {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("%w: %v", ErrExited, s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("wait for health check: %w", ctx.Err())
		case <-deadline.C:
			return fmt.Errorf("not healthy after %v at %s", time.Since(begin).Round(time.Millisecond), s.HealthURL())
		case <-tick.C:
		}
	}
}

// healthy reports whether the health check answers 200 with "healthy": true.
func (s *Server) healthy(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.HealthURL(), nil)
	if err != nil {
		return false
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var st struct {
		Healthy bool `json:"healthy"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&st) != nil {
		return false
	}
	return st.Healthy
}

// OTLPGRPCEndpoint returns the host:port of the OTLP/gRPC receiver, the form
// otlptracegrpc.WithEndpoint takes (use it with WithInsecure).
func (s *Server) OTLPGRPCEndpoint() string { return hostPort(s.ports.OTLPGRPC) }

// OTLPHTTPEndpoint returns the base URL of the OTLP/HTTP receiver, such as
// http://127.0.0.1:4318; traces go to its /v1/traces path
// (otlptracehttp.WithEndpointURL(OTLPHTTPEndpoint() + "/v1/traces")).
func (s *Server) OTLPHTTPEndpoint() string { return "http://" + hostPort(s.ports.OTLPHTTP) }

// QueryURL returns the base URL of the query service's HTTP API, such as
// http://127.0.0.1:16686.
func (s *Server) QueryURL() string { return "http://" + hostPort(s.ports.QueryHTTP) }

// QueryGRPCEndpoint returns the host:port of the query service's gRPC API.
func (s *Server) QueryGRPCEndpoint() string { return hostPort(s.ports.QueryGRPC) }

// HealthURL returns the URL of the health check's status page.
func (s *Server) HealthURL() string { return "http://" + hostPort(s.ports.Health) + "/status" }

// PID returns the process id of Jaeger.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Log returns the last 16 KiB of Jaeger's output so far.
func (s *Server) Log() string { return s.tail.String() }

// Stop ends Jaeger: SIGTERM to its process group, SIGKILL 5 s later if it
// is still running. It waits for the process to exit, then removes the
// temporary configuration directory. Stop is safe to call more than once and
// concurrently; later calls return the first call's result.
//
// The error reports a process that needed SIGKILL, one that exited with a
// failure before Stop or in response to SIGTERM, and cleanup failures.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.stop() })
	return s.stopErr
}

func (s *Server) stop() error {
	var errs []error
	select {
	case <-s.exited:
		if failed(s.waitErr) {
			errs = append(errs, fmt.Errorf("jaeger (pid %d) exited before Stop: %w", s.PID(), s.waitErr))
		}
	default:
		if err := signalGroup(s.cmd, sigTerm); err != nil {
			errs = append(errs, fmt.Errorf("stop jaeger (pid %d): %w", s.PID(), err))
		}
		grace := time.NewTimer(stopGrace)
		select {
		case <-s.exited:
			grace.Stop()
			// Start's ctx may have ended the process just before Stop
			// looked: its pid is gone once Wait has reaped it, a moment
			// before exited is closed.
			if failed(s.waitErr) && !diedOfSIGTERM(s.waitErr) {
				errs = append(errs, fmt.Errorf("jaeger (pid %d) on SIGTERM: %w", s.PID(), s.waitErr))
			}
		case <-grace.C:
			signalGroup(s.cmd, sigKill)
			<-s.exited
			errs = append(errs, fmt.Errorf("jaeger (pid %d) still running %v after SIGTERM; killed", s.PID(), stopGrace))
		}
	}
	s.client.CloseIdleConnections()
	if err := os.RemoveAll(s.dir); err != nil {
		errs = append(errs, fmt.Errorf("stop jaeger: %w", err))
	}
	return errors.Join(errs...)
}

// failed reports whether waitErr, cmd.Wait's result, is a failure. Wait
// returns the context's error when Start's ctx ended the process, which is
// documented behaviour rather than a failure.
func failed(waitErr error) bool {
	return waitErr != nil && !errors.Is(waitErr, context.Canceled) && !errors.Is(waitErr, context.DeadlineExceeded)
}

// endedByContext returns err, cmd.Wait's result, as ctx's error when ctx is
// done and a signal ended the process: Wait reports the exit status rather
// than ctx's error when the process dies of the SIGTERM that ctx's end
// sent it (instead of exiting cleanly on it), and that is the documented
// end of a process whose context ended, not a failure.
func endedByContext(ctx context.Context, err error) error {
	var ee *exec.ExitError
	if ctx.Err() != nil && errors.As(err, &ee) && !ee.Exited() {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

func hostPort(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// tailBuffer is an io.Writer that keeps the last max bytes written to it. It
// is safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// String returns the kept bytes, starting at a line boundary when the
// beginning was cut off.
func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := string(b.buf)
	if len(b.buf) == b.max {
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	return s
}
