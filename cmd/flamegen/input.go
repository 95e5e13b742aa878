package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tracekit-go/tracekit/internal/exectrace"
	"github.com/tracekit-go/tracekit/internal/flame"
	"github.com/tracekit-go/tracekit/internal/spans"
)

// DefaultTimeout is how long flamegen waits to connect to a URL, and for
// each next byte of its response (--timeout).
const DefaultTimeout = 60 * time.Second

// kind is what an input holds, found from its content.
type kind uint8

const (
	kindFolded kind = iota + 1
	kindPprof
	kindTraces
	kindExec // a Go execution trace
)

func (k kind) String() string {
	switch k {
	case kindFolded:
		return "folded stacks"
	case kindPprof:
		return "a pprof profile"
	case kindExec:
		return "a Go execution trace"
	}
	return "traces"
}

// sources opens the inputs of one run: files, - for stdin, and http(s)
// URLs, each bounded by --max-size once decompressed and, for URLs, by
// --timeout.
type sources struct {
	ctx      context.Context
	stdin    io.Reader
	stderr   io.Writer
	progress bool
	maxSize  int64
	client   *http.Client
}

func newSources(ctx context.Context, o *options, stdin io.Reader, stderr io.Writer) *sources {
	return &sources{ctx: ctx, stdin: stdin, stderr: stderr, progress: !o.quiet && isTerminal(stderr),
		maxSize: o.maxSize.n, client: boundedClient(o.timeout, o.maxSize.n)}
}

// input is one opened input: its content decompressed, and what it holds.
type input struct {
	name string
	r    *bufio.Reader
	kind kind
	done func()
}

// open opens name and finds what it holds. The caller calls in.done.
func (s *sources) open(name string) (*input, error) {
	r, done, err := s.openRaw(name)
	if err != nil {
		return nil, err
	}
	in, err := s.classify(name, r)
	if err != nil {
		done()
		return nil, err
	}
	in.done = done
	return in, nil
}

// classify decompresses r and looks at its first bytes.
func (s *sources) classify(name string, r io.Reader) (*input, error) {
	br, err := flame.Uncompress(r, name, s.maxSize)
	if err != nil {
		return nil, err
	}
	head, err := br.Peek(64 << 10)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, flame.ReadError(name, err)
	}
	in := &input{name: name, r: br}
	switch {
	case exectrace.Sniff(head):
		in.kind = kindExec
	case spans.Sniff(head):
		in.kind = kindTraces
	case flame.Detect(head) == flame.FormatFolded:
		in.kind = kindFolded
	case flame.Detect(head) == flame.FormatPprof:
		in.kind = kindPprof
	case len(head) == 0:
		return nil, &flame.ParseError{Input: name, Err: flame.ErrEmpty,
			Expected: "folded stacks, a pprof profile or traces"}
	default:
		return nil, &flame.ParseError{Input: name, Err: flame.ErrFormat,
			Expected: "folded stacks, a pprof profile (protobuf or legacy), traces (OTLP JSON or protobuf, Jaeger JSON), or a Go execution trace, gzipped or not"}
	}
	return in, nil
}

// openRaw opens a file, - (stdin) or an http(s) URL for reading; done
// closes it and ends the progress line.
func (s *sources) openRaw(in string) (_ io.Reader, done func(), _ error) {
	var closers []func()
	done = func() {
		for _, c := range closers {
			c()
		}
	}
	var r io.Reader
	var size int64 = -1
	switch {
	case in == "-":
		r = newPump(s.ctx, s.stdin)
	case strings.HasPrefix(in, "http://") || strings.HasPrefix(in, "https://"):
		req, err := http.NewRequestWithContext(s.ctx, http.MethodGet, in, nil)
		if err != nil {
			return nil, nil, &UsageError{Msg: fmt.Sprintf("flamegen: %s: %v", in, err)}
		}
		resp, err := s.client.Do(req)
		if err != nil {
			return nil, nil, fmt.Errorf("fetch %s: %w", in, unwrapURLError(err))
		}
		if resp.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
			resp.Body.Close()
			return nil, nil, fmt.Errorf("fetch %s: %s: %s", in, resp.Status, strings.TrimSpace(string(msg)))
		}
		closers = append(closers, func() { resp.Body.Close() })
		r, size = resp.Body, resp.ContentLength
	default:
		f, err := os.Open(in)
		if err != nil {
			return nil, nil, err
		}
		if st, err := f.Stat(); err == nil {
			if st.IsDir() {
				f.Close()
				return nil, nil, &UsageError{Msg: fmt.Sprintf("flamegen: %s is a directory: expected a profile file", in)}
			}
			size = st.Size()
		}
		closers = append(closers, func() { f.Close() })
		r = f
	}
	r = &ctxReader{ctx: s.ctx, r: r}
	if s.progress {
		p := &progressReader{r: r, w: s.stderr, name: in, size: size}
		closers = append([]func(){p.done}, closers...)
		r = p
	}
	return r, done, nil
}

// pump reads r in a goroutine of its own, so that a read blocked on a
// terminal or a pipe does not keep the run from ending when ctx is done (a
// signal): Read returns at once then, and the goroutine ends with the
// process, or when r does.
type pump struct {
	ctx  context.Context
	full chan chunk
	free chan []byte
	cur  chunk
	off  int
}

type chunk struct {
	b   []byte
	err error
}

func newPump(ctx context.Context, r io.Reader) *pump {
	p := &pump{ctx: ctx, full: make(chan chunk), free: make(chan []byte, 2)}
	p.free <- make([]byte, 256<<10)
	p.free <- make([]byte, 256<<10)
	go func() {
		for {
			var buf []byte
			select {
			case buf = <-p.free:
			case <-ctx.Done():
				return
			}
			n, err := r.Read(buf)
			select {
			case p.full <- chunk{buf[:n], err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return p
}

func (p *pump) Read(b []byte) (int, error) {
	for p.off == len(p.cur.b) {
		if p.cur.err != nil {
			return 0, p.cur.err
		}
		if p.cur.b != nil {
			p.free <- p.cur.b[:cap(p.cur.b)]
		}
		select {
		case p.cur = <-p.full:
			p.off = 0
		case <-p.ctx.Done():
			return 0, context.Cause(p.ctx)
		}
	}
	n := copy(b, p.cur.b[p.off:])
	p.off += n
	return n, nil
}

// unwrapURLError drops the "Get URL:" prefix that net/http puts on an error
// whose cause already names what failed.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		var te *timeoutError
		if errors.As(ue.Err, &te) {
			return te
		}
		return ue.Err
	}
	return err
}

// timeoutError is what a URL input fails with when it stays silent.
type timeoutError struct {
	what string
	d    time.Duration
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("%s within %v (--timeout)", e.what, e.d)
}

func (e *timeoutError) Timeout() bool { return true }

// boundedClient is the HTTP client of URL inputs and --jaeger: connecting
// must succeed within timeout, the response's headers must come within
// timeout (plus the profile's duration when the URL asks for one, as
// /debug/pprof/profile?seconds=30 does), then every next byte within
// timeout; a body longer than max bytes fails with flame.ErrTooLarge.
func boundedClient(timeout time.Duration, max int64) *http.Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
				return nil, &timeoutError{what: "no connection to " + addr, d: timeout}
			}
			return c, err
		},
		TLSHandshakeTimeout: timeout,
		ForceAttemptHTTP2:   true,
	}
	return &http.Client{Transport: &boundedTransport{base: tr, timeout: timeout, max: max}}
}

type boundedTransport struct {
	base    http.RoundTripper
	timeout time.Duration
	max     int64
}

// profileSeconds is the duration a pprof URL asks the server to profile
// for before it answers.
func profileSeconds(u *url.URL) time.Duration {
	if s, err := strconv.ParseFloat(u.Query().Get("seconds"), 64); err == nil && s > 0 && s < 1e6 {
		return time.Duration(s * float64(time.Second))
	}
	return 0
}

func (b *boundedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	// The wait for the answer starts once connected; connecting has its
	// own timeout.
	wait := b.timeout + profileSeconds(req.URL)
	var (
		mu    sync.Mutex
		timer *time.Timer
		done  bool
	)
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) {
		mu.Lock()
		defer mu.Unlock()
		if timer == nil && !done {
			timer = time.AfterFunc(wait, func() { cancel(&timeoutError{what: "no answer from " + req.URL.Host, d: wait}) })
		}
	}})
	resp, err := b.base.RoundTrip(req.WithContext(ctx))
	mu.Lock()
	done = true
	if timer != nil {
		timer.Stop()
	}
	mu.Unlock()
	if err != nil {
		cause := context.Cause(ctx)
		cancel(nil)
		var te *timeoutError
		if errors.As(cause, &te) {
			return nil, te
		}
		return nil, err
	}
	body := &boundedBody{body: resp.Body, ctx: ctx, cancel: cancel, idle: b.timeout, max: b.max, url: req.URL.Redacted()}
	body.timer = time.AfterFunc(b.timeout, func() {
		cancel(&timeoutError{what: "no data from " + req.URL.Host, d: b.timeout})
	})
	resp.Body = body
	return resp, nil
}

// boundedBody is a response body that fails when no byte comes within the
// timeout, or when it passes max bytes.
type boundedBody struct {
	body   io.ReadCloser
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
	idle   time.Duration
	max, n int64
	url    string
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.max > 0 && b.n >= b.max {
		return 0, &flame.ParseError{Input: b.url, Offset: b.n, Err: flame.ErrTooLarge,
			Expected: fmt.Sprintf("a response of at most %d bytes (--max-size)", b.max)}
	}
	if b.max > 0 && int64(len(p)) > b.max-b.n+1 {
		p = p[:b.max-b.n+1]
	}
	n, err := b.body.Read(p)
	if n > 0 {
		b.timer.Reset(b.idle)
	}
	b.n += int64(n)
	if b.max > 0 && b.n > b.max {
		return n - int(b.n-b.max), &flame.ParseError{Input: b.url, Offset: b.max, Err: flame.ErrTooLarge,
			Expected: fmt.Sprintf("a response of at most %d bytes (--max-size)", b.max)}
	}
	if err != nil && err != io.EOF {
		var te *timeoutError
		if errors.As(context.Cause(b.ctx), &te) {
			return n, te
		}
	}
	return n, err
}

func (b *boundedBody) Close() error {
	b.timer.Stop()
	err := b.body.Close()
	b.cancel(nil)
	return err
}
