package pyroscope

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"time"

	pyro "github.com/grafana/pyroscope-go"

	"github.com/tracekit-go/tracekit/exporters/profiles"
	"github.com/tracekit-go/tracekit/internal/env"
)

// DefaultUploadRate is how often profiles are uploaded, pyroscope-go's
// default.
const DefaultUploadRate = 15 * time.Second

// ErrNoServerAddress is returned by [Start] when neither
// [WithServerAddress] nor PYROSCOPE_SERVER_ADDRESS gives a server.
var ErrNoServerAddress = errors.New("pyroscope: no server address (set " + env.PyroscopeServerAddress + " or use WithServerAddress)")

// DefaultProfileTypes returns what [Start] collects unless
// [WithProfileTypes] says otherwise: CPU, heap, goroutines, and goroutine
// leaks when the runtime has them (profiles.GoroutineLeakSupported).
func DefaultProfileTypes() []profiles.Type {
	types := []profiles.Type{profiles.CPU, profiles.Heap, profiles.Goroutine}
	if profiles.GoroutineLeakSupported() {
		types = append(types, profiles.GoroutineLeak)
	}
	return types
}

// uploadTypes are the profile types pyroscope-go uploads for t.
func uploadTypes(t profiles.Type) []pyro.ProfileType {
	switch t {
	case profiles.CPU:
		return []pyro.ProfileType{pyro.ProfileCPU}
	case profiles.Heap:
		return []pyro.ProfileType{pyro.ProfileAllocObjects, pyro.ProfileAllocSpace, pyro.ProfileInuseObjects, pyro.ProfileInuseSpace}
	case profiles.Goroutine:
		return []pyro.ProfileType{pyro.ProfileGoroutines}
	case profiles.GoroutineLeak:
		return []pyro.ProfileType{pyro.ProfileGoroutineLeak}
	case profiles.Mutex:
		return []pyro.ProfileType{pyro.ProfileMutexCount, pyro.ProfileMutexDuration}
	case profiles.Block:
		return []pyro.ProfileType{pyro.ProfileBlockCount, pyro.ProfileBlockDuration}
	}
	return nil
}

type config struct {
	address  string
	app      string
	tags     map[string]string
	user     string
	password string
	tenant   string
	headers  map[string]string
	types    []profiles.Type
	rate     time.Duration
	client   *http.Client
	onError  func(error)
}

// Option configures [Start]. It is sealed: the With functions of this
// package are the only implementations. Options win over the environment.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithServerAddress sets the server's base URL, for example
// http://localhost:4040; profiles are posted to its /ingest. Overrides
// PYROSCOPE_SERVER_ADDRESS.
func WithServerAddress(url string) Option {
	return optionFunc(func(c *config) { c.address = url })
}

// WithApplicationName sets the application name (the service_name the
// server shows). Overrides PYROSCOPE_APPLICATION_NAME; tracekit passes the
// service name.
func WithApplicationName(name string) Option {
	return optionFunc(func(c *config) { c.app = name })
}

// WithTags adds static tags to every profile. Keys may hold letters, digits,
// '_' and '.'; others are rejected by [Start].
func WithTags(tags map[string]string) Option {
	return optionFunc(func(c *config) {
		if c.tags == nil {
			c.tags = map[string]string{}
		}
		for k, v := range tags {
			c.tags[k] = v
		}
	})
}

// WithBasicAuth sets HTTP basic auth credentials (Grafana Cloud: the
// instance ID and an access token). Overrides PYROSCOPE_BASIC_AUTH_USER and
// PYROSCOPE_BASIC_AUTH_PASSWORD.
func WithBasicAuth(user, password string) Option {
	return optionFunc(func(c *config) { c.user, c.password = user, password })
}

// WithTenantID sets the X-Scope-OrgID header of a multi-tenant server.
// Overrides PYROSCOPE_TENANT_ID.
func WithTenantID(id string) Option {
	return optionFunc(func(c *config) { c.tenant = id })
}

// WithHTTPHeaders adds headers to every upload.
func WithHTTPHeaders(h map[string]string) Option {
	return optionFunc(func(c *config) {
		if c.headers == nil {
			c.headers = map[string]string{}
		}
		for k, v := range h {
			c.headers[k] = v
		}
	})
}

// WithProfileTypes replaces the [DefaultProfileTypes]. Asking for
// profiles.GoroutineLeak on a runtime without it is not an error; it is
// skipped. profiles.Mutex and profiles.Block set the runtime's sampling
// rates (profiles.MutexProfileFraction, profiles.BlockProfileRate) while
// the Profiler runs.
func WithProfileTypes(types ...profiles.Type) Option {
	return optionFunc(func(c *config) { c.types = append([]profiles.Type{}, types...) })
}

// WithUploadRate sets how often profiles are uploaded. Default
// [DefaultUploadRate].
func WithUploadRate(d time.Duration) Option {
	return optionFunc(func(c *config) { c.rate = d })
}

// WithHTTPClient sets the client uploads go through. Default: a client
// with a 30 s timeout that does not follow redirects.
func WithHTTPClient(client *http.Client) Option {
	return optionFunc(func(c *config) { c.client = client })
}

// WithErrorHandler receives what the client logs as errors: failed
// uploads, profiles that could not be taken. Default: dropped.
func WithErrorHandler(f func(error)) Option {
	return optionFunc(func(c *config) { c.onError = f })
}

func newConfig(opts []Option) config {
	var c config
	c.address, _ = env.String(env.PyroscopeServerAddress)
	c.app, _ = env.String(env.PyroscopeApplicationName)
	c.user, _ = env.String(env.PyroscopeBasicAuthUser)
	c.password, _ = env.String(env.PyroscopeBasicAuthPassword)
	c.tenant, _ = env.String(env.PyroscopeTenantID)
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.types == nil {
		c.types = DefaultProfileTypes()
	}
	return c
}

// Profiler is a running pyroscope-go client: it profiles the whole process
// and uploads to the server every upload period. CPU samples carry the
// goroutines' pprof labels, so under tracekit each names the span it ran
// in. Only one CPU profile can run in a process at a time.
//
// Create it with [Start]; stop it with [Profiler.Shutdown]. Its methods are
// safe for concurrent use.
type Profiler struct {
	p       *pyro.Profiler
	address string
	app     string
	mutex   bool
	block   bool
	prevMut int
	client  *http.Client
	// cpu: profiles.CPU is collected. pyroscope-go's flush waits for its
	// CPU collector, which only runs when it is, so without it there is
	// no flush.
	cpu bool

	mu      sync.Mutex // serialises Flush and Shutdown
	stopped bool
	done    chan struct{} // closed when Shutdown's stop has finished
	err     error
}

// Start starts profiling and uploading. The server address comes from
// [WithServerAddress] or PYROSCOPE_SERVER_ADDRESS, the application name from
// [WithApplicationName] or PYROSCOPE_APPLICATION_NAME (default
// "tracekit"), the credentials from [WithBasicAuth] or
// PYROSCOPE_BASIC_AUTH_USER and PYROSCOPE_BASIC_AUTH_PASSWORD, the tenant
// from [WithTenantID] or PYROSCOPE_TENANT_ID. It returns
// [ErrNoServerAddress] without a server, and an error for a tag key or
// application name the client refuses.
func Start(ctx context.Context, opts ...Option) (*Profiler, error) {
	c := newConfig(opts)
	if c.address == "" {
		return nil, ErrNoServerAddress
	}
	if c.app == "" {
		c.app = "tracekit"
	}
	var types []pyro.ProfileType
	mutex, block, cpu := false, false, false
	for _, t := range c.types {
		switch t {
		case profiles.CPU:
			cpu = true
		case profiles.GoroutineLeak:
			if !profiles.GoroutineLeakSupported() {
				continue
			}
		case profiles.Mutex:
			mutex = true
		case profiles.Block:
			block = true
		}
		up := uploadTypes(t)
		if up == nil {
			return nil, fmt.Errorf("pyroscope: unknown profile type %q", t)
		}
		types = append(types, up...)
	}
	rate := c.rate
	if rate <= 0 {
		rate = DefaultUploadRate
	}
	cfg := pyro.Config{
		ApplicationName:   c.app,
		Tags:              c.tags,
		ServerAddress:     c.address,
		BasicAuthUser:     c.user,
		BasicAuthPassword: c.password,
		TenantID:          c.tenant,
		UploadRate:        rate,
		ProfileTypes:      types,
		HTTPHeaders:       c.headers,
		Logger:            logger{c.onError},
	}
	client := c.client
	if client == nil {
		// pyroscope-go's own default, kept here so that Shutdown can close
		// its idle connections.
		client = &http.Client{
			Timeout:       30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	cfg.HTTPClient = client
	pr := &Profiler{address: c.address, app: c.app, mutex: mutex, block: block, cpu: cpu, client: client, done: make(chan struct{})}
	if mutex {
		pr.prevMut = runtime.SetMutexProfileFraction(profiles.MutexProfileFraction)
	}
	if block {
		runtime.SetBlockProfileRate(profiles.BlockProfileRate)
	}
	p, err := pyro.Start(cfg)
	if err != nil {
		pr.restoreRates()
		return nil, fmt.Errorf("pyroscope %s: %w", c.address, err)
	}
	pr.p = p
	return pr, nil
}

// String names the destination for error messages.
func (p *Profiler) String() string { return "pyroscope " + p.address + " (" + p.app + ")" }

func (p *Profiler) restoreRates() {
	if p.mutex {
		runtime.SetMutexProfileFraction(p.prevMut)
	}
	if p.block {
		runtime.SetBlockProfileRate(0)
	}
}

// ErrNoFlush is returned by [Profiler.Flush] when profiles.CPU is not among
// the profile types: the client can flush only while it collects CPU
// profiles.
var ErrNoFlush = errors.New("pyroscope: flush needs the cpu profile type")

// Flush ends the current upload period at once and waits, within ctx, for
// its profiles to be uploaded. After Shutdown it does nothing. Without
// profiles.CPU it returns [ErrNoFlush].
func (p *Profiler) Flush(ctx context.Context) error {
	if !p.cpu {
		return ErrNoFlush
	}
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer p.mu.Unlock()
		p.p.Flush(true)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: flush: %w", p, ctx.Err())
	}
}

// Shutdown uploads the profiles of the current period and stops, within
// ctx: when ctx ends first it returns ctx's error and the stop completes in
// the background. Without profiles.CPU the current period is not uploaded
// (see [ErrNoFlush]). Rates set for mutex and block profiles are put back.
// It is safe to call more than once.
func (p *Profiler) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
	} else {
		p.stopped = true
		go func() {
			defer close(p.done)
			defer p.mu.Unlock()
			if p.cpu {
				p.p.Flush(true)
			}
			_ = p.p.Stop()
			p.client.CloseIdleConnections()
			p.restoreRates()
		}()
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: shutdown: %w", p, ctx.Err())
	}
}

// logger turns the client's error log lines into errors for the handler.
type logger struct{ onError func(error) }

func (logger) Infof(string, ...any)  {}
func (logger) Debugf(string, ...any) {}
func (l logger) Errorf(format string, args ...any) {
	if l.onError != nil {
		l.onError(fmt.Errorf("pyroscope: "+format, args...))
	}
}
