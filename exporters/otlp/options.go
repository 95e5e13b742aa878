package otlp

import (
	"time"

	"go.opentelemetry.io/otel"
)

type config struct {
	endpoint string
	protocol Protocol
	headers  map[string]string
	timeout  time.Duration
	stall    time.Duration
	onError  func(error)
}

// defaultStall is how long an export may go unanswered before it is
// reported: long enough for a healthy Collector under load, short enough
// that a dead endpoint is seen long before the export timeout.
const defaultStall = 5 * time.Second

func newConfig(opts []Option) *config {
	c := &config{onError: otel.Handle}
	for _, o := range opts {
		o.apply(c)
	}
	if c.stall <= 0 {
		c.stall = defaultStall
	}
	return c
}

// Option configures an OTLP exporter.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithEndpoint sets where to send, as a URL (http://host:4318,
// https://collector.example:4317) or a bare host:port, which means plain
// text. For http/protobuf a URL without a path gets the signal's path
// (/v1/traces). Overrides OTEL_EXPORTER_OTLP_ENDPOINT and the signal-specific
// variable.
func WithEndpoint(endpoint string) Option {
	return optionFunc(func(c *config) { c.endpoint = endpoint })
}

// WithProtocol sets the transport. Overrides OTEL_EXPORTER_OTLP_PROTOCOL and
// the signal-specific variable. Default [ProtocolHTTPProtobuf].
func WithProtocol(p Protocol) Option {
	return optionFunc(func(c *config) { c.protocol = p })
}

// WithHeaders sets headers sent with every export (for example an API key).
// Overrides OTEL_EXPORTER_OTLP_HEADERS.
func WithHeaders(h map[string]string) Option {
	return optionFunc(func(c *config) { c.headers = h })
}

// WithTimeout bounds each export request, retries included. Overrides
// OTEL_EXPORTER_OTLP_TIMEOUT; the exporters' default is 10s.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.timeout = d })
}

// WithStallReport sets how long an export may go unanswered before a
// [*StallError] is reported to the error handler, while the export goes on
// until it succeeds or times out. Zero or less means the default, 5s.
func WithStallReport(d time.Duration) Option {
	return optionFunc(func(c *config) { c.stall = d })
}

// WithErrorHandler receives reports of environment values that were not
// understood and so ignored, and of exports of any signal that stall
// ([*StallError]).
// Default: the OpenTelemetry global error handler.
func WithErrorHandler(f func(error)) Option {
	return optionFunc(func(c *config) {
		if f != nil {
			c.onError = f
		}
	})
}
